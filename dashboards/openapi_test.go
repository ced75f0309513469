package dashboards

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestOpenAPI walks openapi.yaml: every documented path is a route and
// every route is documented; each is called with its required parameters,
// then with every documented example, then as CSV where documented, and
// with a wrong site and a wrong period where those errors are documented.
// Each answer must have the documented status, content type and shape.
// The server has a password: calls carry an API key (the documented
// bearer scheme), and a call without one must get the documented 401.
func TestOpenAPI(t *testing.T) {
	srv := newAuthServer(t)
	get := func(t *testing.T, url string) (*http.Response, []byte) {
		t.Helper()
		resp, body := srv.do(t, "GET", strings.TrimPrefix(url, srv.base), nil, "Authorization", "Bearer "+srv.apiKey)
		return resp, []byte(body)
	}
	base := srv.base
	var doc map[string]any
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	schemes, _ := dig(doc, "components", "securitySchemes").(map[string]any)
	if dig(schemes, "bearer", "scheme") != "bearer" || dig(schemes, "session", "name") != sessionCookie ||
		dig(schemes, "shareKey", "name") != "auth" || dig(schemes, "shareKey", "in") != "query" {
		t.Errorf("securitySchemes do not describe the server's credentials: %v", schemes)
	}
	if !strings.HasPrefix(fmt.Sprint(doc["openapi"]), "3.") {
		t.Fatalf("openapi version %v", doc["openapi"])
	}
	resolve := func(v any) map[string]any {
		m, _ := v.(map[string]any)
		for m != nil && m["$ref"] != nil {
			ref := strings.TrimPrefix(m["$ref"].(string), "#/")
			var cur any = doc
			for _, part := range strings.Split(ref, "/") {
				cur = cur.(map[string]any)[part]
			}
			m, _ = cur.(map[string]any)
		}
		if m == nil {
			t.Fatalf("unresolvable %v", v)
		}
		return m
	}
	paths := doc["paths"].(map[string]any)
	var documented, routed []string
	for p := range paths {
		documented = append(documented, p)
	}
	for p := range newAPI(Config{}).endpoints() {
		routed = append(routed, p)
	}
	sort.Strings(documented)
	sort.Strings(routed)
	if !slices.Equal(documented, routed) {
		t.Errorf("documented paths %v\nrouted paths     %v", documented, routed)
	}

	for _, path := range documented {
		op := resolve(resolve(paths[path])["get"])
		responses := op["responses"].(map[string]any)
		var params []map[string]any
		for _, p := range asSlice(op["parameters"]) {
			params = append(params, resolve(p))
		}
		call := func(label string, v url.Values, code string, wantType string) {
			t.Helper()
			resp, body := get(t, base+path+"?"+v.Encode())
			if fmt.Sprint(resp.StatusCode) != code {
				t.Errorf("%s %s?%s: %d %s, want %s", path, label, v.Encode(), resp.StatusCode, body, code)
				return
			}
			r := resolve(responses[code])
			content, _ := r["content"].(map[string]any)
			media, ok := content[wantType]
			if !ok {
				t.Errorf("%s %s: %s not documented for %s", path, label, wantType, code)
				return
			}
			if got := strings.Split(resp.Header.Get("Content-Type"), ";")[0]; got != wantType {
				t.Errorf("%s %s: Content-Type %s, want %s", path, label, got, wantType)
				return
			}
			if wantType != "application/json" {
				if len(body) == 0 {
					t.Errorf("%s %s: empty body", path, label)
				}
				return
			}
			var decoded any
			if err := json.Unmarshal(body, &decoded); err != nil {
				t.Errorf("%s %s: %v", path, label, err)
				return
			}
			for _, e := range validate(resolve, resolve(media)["schema"], decoded, "$") {
				t.Errorf("%s %s: %s", path, label, e)
			}
		}
		required, examples := url.Values{}, url.Values{}
		documentedParam := map[string]bool{}
		for _, p := range params {
			name := p["name"].(string)
			documentedParam[name] = true
			ex, has := p["example"]
			if p["required"] == true && !has {
				t.Fatalf("%s: required parameter %s has no example", path, name)
			}
			if !has {
				continue
			}
			for _, e := range asSlice(ex) {
				examples.Add(name, fmt.Sprint(e))
				if p["required"] == true {
					required.Add(name, fmt.Sprint(e))
				}
			}
		}
		call("required parameters", required, "200", "application/json")
		if _, ok := responses["401"]; !ok {
			t.Errorf("%s: 401 not documented", path)
		} else {
			resp, body := srv.do(t, "GET", path+"?"+required.Encode(), nil)
			if resp.StatusCode != 401 || !strings.Contains(body, `"error"`) {
				t.Errorf("%s without credentials: %d %s", path, resp.StatusCode, body)
			}
		}
		call("documented examples", examples, "200", "application/json")
		if documentedParam["format"] {
			csv := cloneValues(examples)
			csv.Set("format", "csv")
			call("csv", csv, "200", "text/csv")
		}
		if _, ok := responses["404"]; ok {
			v := cloneValues(required)
			v.Set("site", "no-such-site")
			call("unknown site", v, "404", "application/json")
		}
		if _, ok := responses["400"]; ok && documentedParam["period"] {
			v := cloneValues(required)
			v.Set("period", "fortnight")
			call("bad period", v, "400", "application/json")
		}
	}
}

func asSlice(v any) []any {
	if s, ok := v.([]any); ok {
		return s
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// validate checks v against the subset of OpenAPI 3.0 schemas the
// document uses: type, required, properties, additionalProperties,
// items, enum and nullable.
func validate(resolve func(any) map[string]any, schema any, v any, at string) []string {
	s := resolve(schema)
	if v == nil {
		if s["nullable"] == true {
			return nil
		}
		return []string{at + ": null"}
	}
	var errs []string
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		errs = append(errs, fmt.Sprintf("%s: %v not in %v", at, v, enum))
	}
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return append(errs, fmt.Sprintf("%s: %T, want object", at, v))
		}
		for _, r := range asSlice(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: missing %s", at, r))
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, val := range m {
			if ps, ok := props[k]; ok {
				errs = append(errs, validate(resolve, ps, val, at+"."+k)...)
			} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
				errs = append(errs, validate(resolve, ap, val, at+"."+k)...)
			} else {
				errs = append(errs, fmt.Sprintf("%s: undocumented property %s", at, k))
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return append(errs, fmt.Sprintf("%s: %T, want array", at, v))
		}
		for i, item := range a {
			errs = append(errs, validate(resolve, s["items"], item, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			errs = append(errs, fmt.Sprintf("%s: %T, want string", at, v))
		}
	case "number":
		if _, ok := v.(float64); !ok {
			errs = append(errs, fmt.Sprintf("%s: %T, want number", at, v))
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			errs = append(errs, fmt.Sprintf("%s: %v, want integer", at, v))
		}
	}
	return errs
}
