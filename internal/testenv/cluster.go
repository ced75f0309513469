package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ClusterName is the remote_servers name of the clusters StartCluster
// starts (the value of storage.clickhouse.cluster in tests).
const ClusterName = "mote"

// ZooKeeperHint says how to get ZooKeeper; every "not found" error carries
// it.
const ZooKeeperHint = "install it with `make test-deps` (or `apt-get install zookeeper`)"

// Cluster is a local ClickHouse cluster: shards × replicas clickhouse-server
// processes on loopback ports, coordinated by one ZooKeeper process, with a
// remote_servers entry named ClusterName, {shard}/{replica} macros and the
// distributed DDL queue configured on every server.
type Cluster struct {
	// Servers[s][r] is replica r of shard s (0-based), in remote_servers
	// order: a Distributed table sends shard index s the rows whose sharding
	// key modulo len(Servers) is s.
	Servers [][]*Server
	zk      *process
}

// StartCluster starts ZooKeeper and shards × replicas ClickHouse servers
// and waits until every server answers. Everything is stopped and removed
// when the test ends. Servers may be stopped (Stop, a crash) and started
// again (Start) during the test; their data and replication state survive.
func StartCluster(tb testing.TB, shards, replicas int) *Cluster {
	tb.Helper()
	if shards < 1 || replicas < 1 {
		tb.Fatalf("StartCluster(%d, %d): want at least one shard and one replica", shards, replicas)
	}
	root := tb.TempDir() // registered first, so removed after everything stops
	bin, err := FindBinary()
	if err != nil {
		tb.Fatal(err)
	}
	// Ports are picked free and bound a moment later; in between an
	// outgoing connection (a server's own ZooKeeper session) can take one.
	// Such a start is retried on new ports, at most twice.
	for attempt := 1; ; attempt++ {
		c, err := startCluster(filepath.Join(root, strconv.Itoa(attempt)), bin, shards, replicas)
		if err == nil {
			tb.Cleanup(func() { c.stop(tb) })
			return c
		}
		if attempt == 3 || !strings.Contains(err.Error(), "Address already in use") {
			tb.Fatalf("start cluster: %v", err)
		}
		tb.Logf("start cluster: a port was taken meanwhile; again on new ports (%v)", err)
	}
}

// startCluster is one attempt of StartCluster in dir; on error nothing it
// started is left running.
func startCluster(dir, bin string, shards, replicas int) (*Cluster, error) {
	zkPort, err := freePort()
	if err != nil {
		return nil, err
	}
	zk, err := startZooKeeper(filepath.Join(dir, "zookeeper"), zkPort)
	if err != nil {
		return nil, err
	}
	c := &Cluster{zk: zk}

	// Every server's ports are known before any starts: remote_servers
	// lists them all.
	cfgs := make([][]Config, shards)
	inter := make([][]int, shards)
	for s := range cfgs {
		cfgs[s] = make([]Config, replicas)
		inter[s] = make([]int, replicas)
		for r := range cfgs[s] {
			cfg := Config{Binary: bin, Dir: filepath.Join(dir, fmt.Sprintf("s%dr%d", s+1, r+1))}
			for _, p := range []*int{&cfg.TCPPort, &cfg.HTTPPort, &inter[s][r]} {
				if *p, err = freePort(); err != nil {
					kill(zk)
					return nil, err
				}
			}
			cfgs[s][r] = cfg
		}
	}
	remote := clusterRemoteServers(cfgs)
	for s := range cfgs {
		for r, cfg := range cfgs[s] {
			if err := writeClusterConfig(cfg.Dir, remote, zkPort, s+1, fmt.Sprintf("s%dr%d", s+1, r+1), inter[s][r]); err != nil {
				kill(zk)
				return nil, err
			}
		}
	}
	// Start them concurrently: on a small machine each start takes seconds.
	type started struct {
		s, r int
		srv  *Server
		err  error
	}
	ch := make(chan started)
	for s := range cfgs {
		for r := range cfgs[s] {
			go func() {
				srv, err := StartServer(context.Background(), cfgs[s][r])
				ch <- started{s, r, srv, err}
			}()
		}
	}
	c.Servers = make([][]*Server, shards)
	for s := range c.Servers {
		c.Servers[s] = make([]*Server, replicas)
	}
	var errs []error
	for range shards * replicas {
		st := <-ch
		if st.err != nil {
			errs = append(errs, fmt.Errorf("shard %d replica %d: %w", st.s+1, st.r+1, st.err))
			continue
		}
		c.Servers[st.s][st.r] = st.srv
	}
	if len(errs) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for s := range c.Servers {
			for r, srv := range c.Servers[s] {
				if err := srv.waitZooKeeper(ctx); err != nil {
					errs = append(errs, fmt.Errorf("shard %d replica %d: %w", s+1, r+1, err))
				}
			}
		}
	}
	if len(errs) > 0 {
		c.stop(nil)
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// stop stops every server and ZooKeeper. With tb of a failed test it first
// shows what each server logged: a dropped connection is explained only
// there.
func (c *Cluster) stop(tb testing.TB) {
	for s := range c.Servers {
		for r, srv := range c.Servers[s] {
			if srv == nil {
				continue
			}
			if tb != nil && tb.Failed() {
				tb.Logf("shard %d replica %d:\n%s", s+1, r+1, srv.logTail())
			}
			_ = srv.Stop()
		}
	}
	kill(c.zk)
}

// DSN is the clickhouse-go DSN of database db on the cluster: the first
// server of each shard, in shard order (the driver uses the first that
// answers). The first host is where the salts table lives.
func (c *Cluster) DSN(db string) string {
	hosts := make([]string, len(c.Servers))
	for s := range c.Servers {
		hosts[s] = c.Servers[s][0].Addr()
	}
	return "clickhouse://" + strings.Join(hosts, ",") + "/" + db
}

// clusterRemoteServers renders the remote_servers entry of every server.
func clusterRemoteServers(cfgs [][]Config) string {
	var b strings.Builder
	b.WriteString("<remote_servers><" + ClusterName + ">\n")
	for _, shard := range cfgs {
		b.WriteString("  <shard><internal_replication>true</internal_replication>\n")
		for _, cfg := range shard {
			fmt.Fprintf(&b, "    <replica><host>127.0.0.1</host><port>%d</port></replica>\n", cfg.TCPPort)
		}
		b.WriteString("  </shard>\n")
	}
	b.WriteString("</" + ClusterName + "></remote_servers>")
	return b.String()
}

// clusterXML is merged into the server's config.xml (config.d is read
// from the directory of the main file); writeConfig never touches it.
const clusterXML = `<?xml version="1.0"?>
<!-- Written by Mote's testenv StartCluster. -->
<yandex>
    {{remote}}
    <zookeeper>
        <node><host>127.0.0.1</host><port>{{zk}}</port></node>
        <session_timeout_ms>10000</session_timeout_ms>
    </zookeeper>
    <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
    <macros><shard>{{shard}}</shard><replica>{{replica}}</replica></macros>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <interserver_http_port>{{inter}}</interserver_http_port>
</yandex>
`

func writeClusterConfig(dir, remote string, zkPort, shard int, replica string, interPort int) error {
	if err := os.MkdirAll(filepath.Join(dir, "config.d"), 0o755); err != nil {
		return fmt.Errorf("write cluster config: %w", err)
	}
	x := strings.NewReplacer("{{remote}}", remote, "{{zk}}", strconv.Itoa(zkPort),
		"{{shard}}", strconv.Itoa(shard), "{{replica}}", replica, "{{inter}}", strconv.Itoa(interPort)).Replace(clusterXML)
	if err := os.WriteFile(filepath.Join(dir, "config.d", "cluster.xml"), []byte(x), 0o644); err != nil {
		return fmt.Errorf("write cluster config: %w", err)
	}
	return nil
}

// zooKeeperJars are Debian's zookeeper package jars the standalone server
// needs (the zookeeper.jar manifest names the rest).
var zooKeeperJars = []string{"zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-simple.jar", "netty-all.jar", "commons-cli.jar", "metrics-core.jar"}

// startZooKeeper runs a standalone ZooKeeper (Debian's package, started
// directly with java rather than through its init scripts) on
// 127.0.0.1:port with its data in dir, and waits until it answers "srvr".
func startZooKeeper(dir string, port int) (*process, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, errors.New("java not found (it comes with ZooKeeper): " + ZooKeeperHint)
	}
	var cp []string
	for _, j := range zooKeeperJars {
		p := filepath.Join("/usr/share/java", j)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("zookeeper: %s missing: %s", p, ZooKeeperHint)
		}
		cp = append(cp, p)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("zookeeper: %w", err)
	}
	cfg := fmt.Sprintf("tickTime=500\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxSessionTimeout=60000\n4lw.commands.whitelist=srvr\n",
		filepath.Join(dir, "data"), port)
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("zookeeper: %w", err)
	}
	out, err := os.Create(filepath.Join(dir, "zookeeper.log"))
	if err != nil {
		return nil, fmt.Errorf("zookeeper: %w", err)
	}
	p, err := startProcess(exec.Command(java, "-Xmx256m", "-XX:+UseSerialGC", "-cp", strings.Join(cp, ":"),
		"org.apache.zookeeper.server.ZooKeeperServerMain", cfgPath), out)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: run java: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if zkAnswers(port) {
			return p, nil
		}
		select {
		case <-p.done:
			log, _ := os.ReadFile(filepath.Join(dir, "zookeeper.log"))
			return nil, fmt.Errorf("zookeeper exited during start-up (%v):\n%s", p.err, tailLines(log, 25))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			kill(p)
			return nil, errors.New("zookeeper did not answer within 60s")
		}
	}
}

// zkAnswers sends ZooKeeper's "srvr" command and checks the reply.
func zkAnswers(port int) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("srvr")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "Zookeeper version")
}
