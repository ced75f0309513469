package deploy

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// files returns the paths under deploy/ (dev/ excluded: scripts, not
// configuration) whose names end with one of exts.
func files(t *testing.T, exts ...string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p == "dev" {
			return filepath.SkipDir
		}
		for _, e := range exts {
			if !d.IsDir() && strings.HasSuffix(p, e) {
				out = append(out, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no %v files under deploy/", exts)
	}
	return out
}

// yamlDocs decodes every document of a (multi-document) YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, len(docs)+1, err)
		}
		if len(doc) == 0 {
			t.Fatalf("%s: document %d is empty", path, len(docs)+1)
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no YAML document", path)
	}
	return docs
}

func TestYAMLParses(t *testing.T) {
	for _, p := range files(t, ".yaml", ".yml") {
		docs := yamlDocs(t, p)
		t.Logf("%s: %d documents", p, len(docs))
	}
}

func TestKubernetesManifests(t *testing.T) {
	kinds := map[string]bool{}
	for _, p := range files(t, ".yaml") {
		if !strings.HasPrefix(p, "kubernetes"+string(filepath.Separator)) {
			continue
		}
		for i, doc := range yamlDocs(t, p) {
			meta, _ := doc["metadata"].(map[string]any)
			if doc["apiVersion"] == nil || doc["kind"] == nil || meta["name"] == nil {
				t.Errorf("%s: document %d lacks apiVersion, kind or metadata.name", p, i+1)
				continue
			}
			kinds[doc["kind"].(string)] = true
		}
	}
	for _, k := range []string{"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ClickHouseInstallation", "ClickHouseKeeperInstallation"} {
		if !kinds[k] {
			t.Errorf("deploy/kubernetes has no %s", k)
		}
	}
}

// TestComposePorts: every published port is bound to 127.0.0.1, every
// service has a healthcheck, every named volume is declared.
func TestCompose(t *testing.T) {
	doc := yamlDocs(t, "compose.yaml")[0]
	services, _ := doc["services"].(map[string]any)
	if len(services) < 2 {
		t.Fatalf("compose.yaml: want clickhouse and mote services, have %d", len(services))
	}
	declared, _ := doc["volumes"].(map[string]any)
	for name, s := range services {
		svc := s.(map[string]any)
		if svc["healthcheck"] == nil {
			t.Errorf("service %s has no healthcheck", name)
		}
		ports, _ := svc["ports"].([]any)
		for _, p := range ports {
			if !strings.HasPrefix(p.(string), "127.0.0.1:") {
				t.Errorf("service %s publishes %q beyond 127.0.0.1", name, p)
			}
		}
		vols, _ := svc["volumes"].([]any)
		for _, v := range vols {
			src, _, _ := strings.Cut(v.(string), ":")
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
				continue
			}
			if _, ok := declared[src]; !ok {
				t.Errorf("service %s uses volume %s, not declared under volumes:", name, src)
			}
		}
	}
	if img, _ := services["clickhouse"].(map[string]any)["image"].(string); !strings.Contains(img, ":25.") {
		t.Errorf("clickhouse image %q: want a 25.x tag", img)
	}
}

// xmlNode is a generic element tree.
type xmlNode struct {
	XMLName  xml.Name
	Content  string    `xml:",chardata"`
	Children []xmlNode `xml:",any"`
}

func (n xmlNode) all(name string) []xmlNode {
	var out []xmlNode
	for _, c := range n.Children {
		if c.XMLName.Local == name {
			out = append(out, c)
		}
	}
	return out
}

func (n xmlNode) one(t *testing.T, path ...string) xmlNode {
	t.Helper()
	cur := n
	for _, p := range path {
		c := cur.all(p)
		if len(c) != 1 {
			t.Fatalf("<%s>: want one <%s>, have %d", cur.XMLName.Local, p, len(c))
		}
		cur = c[0]
	}
	return cur
}

func parseXML(t *testing.T, path string) xmlNode {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var root xmlNode
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	// Nothing but whitespace and comments may follow the root.
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: after the root element: %v", path, err)
		}
		if cd, ok := tok.(xml.CharData); ok && len(bytes.TrimSpace(cd)) == 0 {
			continue
		}
		if _, ok := tok.(xml.Comment); ok {
			continue
		}
		t.Fatalf("%s: %T after the root element", path, tok)
	}
	if r := root.XMLName.Local; r != "clickhouse" && r != "yandex" {
		t.Fatalf("%s: root element <%s>, want <clickhouse>", path, r)
	}
	return root
}

func TestXMLParses(t *testing.T) {
	for _, p := range files(t, ".xml") {
		parseXML(t, p)
	}
}

// TestClusterConfig checks that the cluster example is coherent: every
// replica host has a node file whose macros name its shard, every shard
// uses internal_replication, and the Keeper ensemble has three voters.
func TestClusterConfig(t *testing.T) {
	cluster := parseXML(t, filepath.Join("clickhouse", "cluster", "cluster.xml")).one(t, "remote_servers", "mote")
	shards := cluster.all("shard")
	if len(shards) != 2 {
		t.Fatalf("cluster mote: %d shards, want 2", len(shards))
	}
	for i, sh := range shards {
		if ir := strings.TrimSpace(sh.one(t, "internal_replication").Content); ir != "true" {
			t.Errorf("shard %d: internal_replication %q, want true", i+1, ir)
		}
		reps := sh.all("replica")
		if len(reps) != 2 {
			t.Errorf("shard %d: %d replicas, want 2", i+1, len(reps))
		}
		for _, r := range reps {
			host := strings.TrimSpace(r.one(t, "host").Content)
			node := parseXML(t, filepath.Join("clickhouse", "cluster", "nodes", host+".xml"))
			macros := node.one(t, "macros")
			if got := strings.TrimSpace(macros.one(t, "shard").Content); got != string(rune('1'+i)) {
				t.Errorf("%s: macro shard %q, want %d", host, got, i+1)
			}
			if got := strings.TrimSpace(macros.one(t, "replica").Content); got != host {
				t.Errorf("%s: macro replica %q, want the host name", host, got)
			}
		}
	}
	keeper := parseXML(t, filepath.Join("clickhouse", "cluster", "keeper.xml")).one(t, "keeper_server", "raft_configuration")
	if n := len(keeper.all("server")); n != 3 {
		t.Errorf("keeper: %d raft servers, want 3", n)
	}
}

// unitSections parses a systemd unit file into section -> key -> values.
func unitSections(t *testing.T, data []byte) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	section := ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				t.Fatalf("unit line %d: bad section header %q", i+1, line)
			}
			section = line[1 : len(line)-1]
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.TrimSpace(k) == "" {
				t.Fatalf("unit line %d: want Key=Value inside a section, have %q", i+1, line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	return out
}

func TestSystemdUnit(t *testing.T) {
	path := filepath.Join("systemd", "mote.service")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unitSections(t, data)
	for _, s := range []string{"Unit", "Service", "Install"} {
		if u[s] == nil {
			t.Fatalf("%s: no [%s] section", path, s)
		}
	}
	svc := u["Service"]
	want := map[string]string{
		"DynamicUser": "yes", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
		"PrivateTmp": "yes", "StateDirectory": "mote", "CapabilityBoundingSet": "",
		"ProtectHome": "yes", "PrivateDevices": "yes",
	}
	for k, v := range want {
		if got := svc[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s: %s=%q, want %q", path, k, got, v)
		}
	}
	if len(svc["ExecStart"]) != 1 {
		t.Fatalf("%s: want one ExecStart", path)
	}

	analyze := findTool(t, "systemd-analyze", "systemd")
	// verify insists that ExecStart's binary exists: point it at this test
	// binary (a real executable) in a copy of the unit.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := strings.Fields(svc["ExecStart"][0])[0]
	unit := filepath.Join(t.TempDir(), "mote.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(data, []byte("ExecStart="+exe), []byte("ExecStart="+self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput()
	// verify also reports on units the host lacks (After=clickhouse-server
	// is a soft ordering); only lines about mote.service count.
	var problems []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "mote.service") {
			problems = append(problems, l)
		}
	}
	if len(problems) > 0 {
		t.Fatalf("systemd-analyze verify:\n%s", strings.Join(problems, "\n"))
	}
	if err != nil {
		t.Logf("systemd-analyze verify exited with %v (nothing about mote.service):\n%s", err, out)
	}
}

// findTool looks a Debian-packaged tool up on PATH and in /usr/sbin.
func findTool(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := "/usr/sbin/" + name; fileExists(p) {
		return p
	}
	t.Fatalf("%s not found: install it with `make test-deps` (or `apt-get install %s`)", name, pkg)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestNginx runs nginx -t on a wrapper configuration that includes the
// snippet in its http block, as an operator's nginx.conf would.
func TestNginx(t *testing.T) {
	nginx := findTool(t, "nginx", "nginx")
	snippet, err := filepath.Abs(filepath.Join("nginx", "mote.conf"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(snippet)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hash $remote_addr consistent;", "proxy_set_header X-Forwarded-For $remote_addr;", `proxy_set_header Forwarded "";`} {
		if !bytes.Contains(data, []byte(s)) {
			t.Errorf("nginx/mote.conf lacks %q", s)
		}
	}
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "nginx.conf")
	conf := `daemon off;
pid ` + dir + `/nginx.pid;
error_log stderr;
events {}
http {
    access_log off;
    client_body_temp_path ` + dir + `/body;
    proxy_temp_path ` + dir + `/proxy;
    fastcgi_temp_path ` + dir + `/fastcgi;
    uwsgi_temp_path ` + dir + `/uwsgi;
    scgi_temp_path ` + dir + `/scgi;
    include ` + snippet + `;
}
`
	if err := os.WriteFile(wrapper, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(nginx, "-t", "-p", dir, "-c", wrapper).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
}

// TestHAProxy runs haproxy -c on the example configuration.
func TestHAProxy(t *testing.T) {
	haproxy := findTool(t, "haproxy", "haproxy")
	path := filepath.Join("haproxy", "haproxy.cfg")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"balance source", "hash-type consistent", "http-request del-header X-Forwarded-For", "option forwardfor"} {
		if !bytes.Contains(data, []byte(s)) {
			t.Errorf("%s lacks %q", path, s)
		}
	}
	out, err := exec.Command(haproxy, "-c", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
}

// TestCaddyfile parses the Caddyfile structurally: Caddy is not packaged
// reliably in Debian stable, so instead of `caddy validate` this checks
// balanced braces, that every directive is one Caddy knows, and the
// settings the docs rely on. It is a syntax sanity check, not Caddy's
// own adapter.
func TestCaddyfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("caddy", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{
		// global options and site-level directives used in the file
		"admin": true, "request_body": true, "reverse_proxy": true, "log": true,
		"encode": true, "header": true, "tls": true,
		// subdirectives
		"max_size": true, "lb_policy": true, "health_uri": true, "health_interval": true,
		"header_up": true, "header_down": true, "trusted_proxies": true,
	}
	depth := 0
	var seen []string
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		opens := strings.HasSuffix(line, "{")
		switch {
		case line == "}":
			depth--
			if depth < 0 {
				t.Fatalf("Caddyfile line %d: unbalanced }", i+1)
			}
			continue
		case line == "{" && depth == 0:
			// the global options block
		case depth == 0:
			if !opens {
				t.Fatalf("Caddyfile line %d: a site address must open a block: %q", i+1, line)
			}
		default:
			if !known[fields[0]] {
				t.Errorf("Caddyfile line %d: unknown directive %q", i+1, fields[0])
			}
			seen = append(seen, strings.Join(fields, " "))
		}
		if strings.Count(line, "{")-strings.Count(line, "}") > 1 || (strings.Contains(line, "}") && !strings.Contains(line, "{")) {
			t.Fatalf("Caddyfile line %d: one block opens per line: %q", i+1, line)
		}
		if opens {
			depth++
		}
	}
	if depth != 0 {
		t.Fatalf("Caddyfile: %d unclosed blocks", depth)
	}
	all := strings.Join(seen, "\n")
	for _, s := range []string{"lb_policy ip_hash", "header_up -Forwarded", "header_up X-Forwarded-For {remote_host}"} {
		if !strings.Contains(all, s) {
			t.Errorf("Caddyfile lacks %q", s)
		}
	}
}
