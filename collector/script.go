package collector

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/valyala/fasthttp"
)

// scriptCacheControl lets browsers and CDNs reuse /m.js for a day without
// asking: a new tracker reaches every page within one, and the ETag makes
// the daily revalidation a 304 of no body.
const scriptCacheControl = "public, max-age=86400"

// script is the tracker response, built once at New: the script as is and
// gzipped (every browser asks for gzip; the 1.5 KB budget is the gzipped
// size), each with its strong ETag. Serving it copies nothing and
// allocates nothing.
type script struct {
	plain, gz         []byte
	plainTag, gzipTag []byte // quoted entity tags
}

// newScript prepares the response for src; an empty src serves 404.
func newScript(src []byte) (*script, error) {
	if len(src) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("gzip tracker script: %w", err)
	}
	if _, err := zw.Write(src); err != nil {
		return nil, fmt.Errorf("gzip tracker script: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip tracker script: %w", err)
	}
	sum := sha256.Sum256(src)
	tag := hex.EncodeToString(sum[:12])
	return &script{
		plain: bytes.Clone(src),
		gz:    buf.Bytes(),
		// The two encodings are different representations, so they need
		// different strong tags (RFC 9110, 8.8.3).
		plainTag: []byte(`"` + tag + `"`),
		gzipTag:  []byte(`"` + tag + `-gz"`),
	}, nil
}

// script serves GET /m.js. Cross-Origin-Resource-Policy lets pages with
// COEP load it; nosniff makes browsers refuse it as anything but script.
func (s *Server) script(ctx *fasthttp.RequestCtx) {
	js := s.js
	if js == nil {
		s.stats.reject(reasonNotFound)
		text(ctx, fasthttp.StatusNotFound, bodyNotFound)
		return
	}
	body, tag := js.plain, js.plainTag
	gz := acceptsGzip(ctx.Request.Header.Peek(fasthttp.HeaderAcceptEncoding))
	if gz {
		body, tag = js.gz, js.gzipTag
	}
	h := &ctx.Response.Header
	h.SetContentType("text/javascript; charset=utf-8")
	h.Set(fasthttp.HeaderCacheControl, scriptCacheControl)
	h.SetBytesV(fasthttp.HeaderETag, tag)
	h.Set(fasthttp.HeaderVary, "Accept-Encoding")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	if gz {
		h.Set(fasthttp.HeaderContentEncoding, "gzip")
	}
	if etagMatches(ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch), tag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.SetBodyRaw(body)
}

// acceptsGzip reports whether an Accept-Encoding value lists gzip with a
// non-zero weight ("gzip", "gzip;q=0.5"; not "gzip;q=0").
func acceptsGzip(v []byte) bool {
	for len(v) > 0 {
		var item []byte
		item, v, _ = bytes.Cut(v, []byte{','})
		coding, params, _ := bytes.Cut(item, []byte{';'})
		if !bytes.EqualFold(bytes.TrimSpace(coding), []byte("gzip")) {
			continue
		}
		q, ok := bytes.CutPrefix(bytes.TrimSpace(params), []byte("q="))
		return !ok || !zeroWeight(q)
	}
	return false
}

// zeroWeight reports whether a qvalue is 0 ("0", "0.", "0.000").
func zeroWeight(q []byte) bool {
	q = bytes.TrimSpace(q)
	if len(q) == 0 || q[0] != '0' {
		return false
	}
	for _, c := range q[1:] {
		if c != '.' && c != '0' {
			return false
		}
	}
	return true
}

// etagMatches is If-None-Match's weak comparison (RFC 9110, 13.1.2): tag
// matches "*" or any listed entity tag, with or without the W/ prefix.
func etagMatches(header, tag []byte) bool {
	for len(header) > 0 {
		var item []byte
		item, header, _ = bytes.Cut(header, []byte{','})
		item = bytes.TrimSpace(item)
		if len(item) == 1 && item[0] == '*' {
			return true
		}
		item = bytes.TrimPrefix(item, []byte("W/"))
		if bytes.Equal(item, tag) {
			return true
		}
	}
	return false
}
