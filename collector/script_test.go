package collector

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

var testScript = []byte(`(()=>{console.log("mote tracker under test")})();`)

func scriptServer(t *testing.T, src []byte) *testServer {
	cfg := testConfig()
	cfg.Script = src
	return startServer(t, cfg)
}

func TestScriptServed(t *testing.T) {
	ts := scriptServer(t, testScript)

	plain := ts.do(t, get("/m.js"))
	if plain.StatusCode() != 200 || !bytes.Equal(plain.Body(), testScript) {
		t.Fatalf("GET /m.js: %d %q", plain.StatusCode(), plain.Body())
	}
	for k, want := range map[string]string{
		"Content-Type":                 "text/javascript; charset=utf-8",
		"Cache-Control":                "public, max-age=86400",
		"Vary":                         "Accept-Encoding",
		"Cross-Origin-Resource-Policy": "cross-origin",
		"X-Content-Type-Options":       "nosniff",
		"Content-Encoding":             "",
	} {
		if got := string(plain.Header.Peek(k)); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	tag := string(plain.Header.Peek("ETag"))
	if len(tag) < 10 || tag[0] != '"' || tag[len(tag)-1] != '"' {
		t.Fatalf("ETag %q is not a strong entity tag", tag)
	}

	gz := ts.do(t, get("/m.js", "Accept-Encoding: gzip, deflate, br\r\n"))
	gzTag := string(gz.Header.Peek("ETag"))
	if gz.StatusCode() != 200 || string(gz.Header.Peek("Content-Encoding")) != "gzip" || gzTag == tag || gzTag == "" {
		t.Fatalf("gzip: %d, Content-Encoding %q, ETag %q (plain %q)", gz.StatusCode(), gz.Header.Peek("Content-Encoding"), gzTag, tag)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz.Body()))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(zr); err != nil || !bytes.Equal(got, testScript) {
		t.Fatalf("gunzipped body %q, %v", got, err)
	}

	// The tag is a function of the script: the same bytes give the same
	// tag in another process, other bytes another tag.
	if again := scriptServer(t, testScript).do(t, get("/m.js")); string(again.Header.Peek("ETag")) != tag {
		t.Errorf("same script, tag %q then %q", tag, again.Header.Peek("ETag"))
	}
	if other := scriptServer(t, append([]byte("//x\n"), testScript...)).do(t, get("/m.js")); string(other.Header.Peek("ETag")) == tag {
		t.Errorf("another script kept tag %q", tag)
	}
}

func TestScriptRevalidation(t *testing.T) {
	ts := scriptServer(t, testScript)
	tag := string(ts.do(t, get("/m.js")).Header.Peek("ETag"))
	gzTag := string(ts.do(t, get("/m.js", "Accept-Encoding: gzip\r\n")).Header.Peek("ETag"))
	for _, c := range []struct {
		name, headers string
		status        int
	}{
		{"matching", "If-None-Match: " + tag + "\r\n", 304},
		{"weak form", "If-None-Match: W/" + tag + "\r\n", 304},
		{"in a list", `If-None-Match: "old", ` + tag + "\r\n", 304},
		{"any", "If-None-Match: *\r\n", 304},
		{"gzip tag, gzip asked", "Accept-Encoding: gzip\r\nIf-None-Match: " + gzTag + "\r\n", 304},
		{"gzip tag, plain asked", "If-None-Match: " + gzTag + "\r\n", 200},
		{"stale", `If-None-Match: "old"` + "\r\n", 200},
		{"unquoted", "If-None-Match: " + tag[1:len(tag)-1] + "\r\n", 200},
	} {
		resp := ts.do(t, get("/m.js", c.headers))
		if resp.StatusCode() != c.status {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode(), c.status)
			continue
		}
		if c.status == 304 {
			if len(resp.Body()) != 0 || resp.Header.Peek("ETag") == nil || string(resp.Header.Peek("Cache-Control")) != scriptCacheControl {
				t.Errorf("%s: 304 with %d body bytes, ETag %q, Cache-Control %q", c.name, len(resp.Body()), resp.Header.Peek("ETag"), resp.Header.Peek("Cache-Control"))
			}
		}
	}
}

func TestScriptMethodsAndMissing(t *testing.T) {
	ts := scriptServer(t, testScript)
	head := ts.do(t, "HEAD /m.js HTTP/1.1\r\nHost: collector.test\r\nConnection: close\r\n\r\n")
	if head.StatusCode() != 200 || head.Header.ContentLength() != len(testScript) {
		t.Errorf("HEAD: %d, Content-Length %d", head.StatusCode(), head.Header.ContentLength())
	}
	if got := ts.do(t, post(`{}`)).StatusCode(); got == 200 {
		t.Errorf("POST /api/event answered like the script")
	}
	postScript := "POST /m.js HTTP/1.1\r\nHost: collector.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	if got := ts.do(t, postScript).StatusCode(); got != 404 {
		t.Errorf("POST /m.js: %d, want 404", got)
	}
	if n := len(ts.sink.stored()); n != 0 {
		t.Errorf("serving the script stored %d events", n)
	}
	if got := scriptServer(t, nil).do(t, get("/m.js")).StatusCode(); got != 404 {
		t.Errorf("no script configured: %d, want 404", got)
	}
}

// The script is copied at New: changing the caller's slice changes nothing.
func TestScriptCopied(t *testing.T) {
	src := bytes.Clone(testScript)
	ts := scriptServer(t, src)
	src[0] = 'X'
	if got := ts.do(t, get("/m.js")).Body(); !bytes.Equal(got, testScript) {
		t.Fatalf("served %q after the caller changed its slice", got)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for in, want := range map[string]bool{
		"":                         false,
		"gzip":                     true,
		"GZIP":                     true,
		"deflate, gzip;q=0.8, br":  true,
		"gzip;q=0":                 false,
		"gzip; q=0.000":            false,
		"gzip;q=0.001":             true,
		"identity":                 false,
		"x-gzip":                   false,
		"br, zstd":                 false,
		"gzipx":                    false,
		" gzip ; q=1 ":             true,
		",,,":                      false,
		"gzip;level=9":             true,
		"deflate;q=0, gzip;q=0.5 ": true,
	} {
		if got := acceptsGzip([]byte(in)); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzScriptHeaders feeds arbitrary Accept-Encoding and If-None-Match
// values to their parsers: no panic, and a header naming the tag matches.
func FuzzScriptHeaders(f *testing.F) {
	for _, s := range []string{"", "*", "gzip", "gzip;q=0", `W/"a", "b"`, `"abc-gz"`, ",,", "W/", `"`} {
		f.Add(s)
	}
	tag := []byte(`"abc"`)
	f.Fuzz(func(t *testing.T, v string) {
		acceptsGzip([]byte(v))
		etagMatches([]byte(v), tag)
		if !etagMatches([]byte(v+", "+string(tag)), tag) {
			t.Fatalf("%q followed by the tag does not match", v)
		}
	})
}

// scriptRequest is a browser's conditional request for the script.
func scriptRequest(etag string) string {
	return "GET /m.js HTTP/1.1\r\nHost: collector.test\r\n" + browserUA +
		"Accept: */*\r\nAccept-Encoding: gzip, deflate, br, zstd\r\nReferer: https://example.com/\r\n" +
		"If-None-Match: " + etag + "\r\n\r\n"
}
