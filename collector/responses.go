package collector

import "github.com/valyala/fasthttp"

// gif is the smallest transparent 1x1 GIF (GIF89a, one-colour global
// table, a graphic control extension marking colour 0 transparent): 43
// bytes, sent as is by every pixel response. It is never written to.
var gifBody = []byte{
	'G', 'I', 'F', '8', '9', 'a', // header
	0x01, 0x00, 0x01, 0x00, // 1x1 logical screen
	0x80, 0x00, 0x00, // global colour table of 2 entries, bg 0, aspect 0
	0x00, 0x00, 0x00, 0xff, 0xff, 0xff, // colour table: black, white
	0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, // graphic control: transparent index 0
	0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // image descriptor
	0x02, 0x02, 0x44, 0x01, 0x00, // LZW min code size 2, one 2-byte sub-block, terminator
	0x3b, // trailer
}

// Fixed bodies, shared read-only by all responses (SetBodyRaw does not
// copy them).
var (
	bodyOK         = []byte("ok\n")
	bodyNotReady   = []byte("not ready\n")
	bodyNotFound   = []byte("not found\n")
	bodyMalformed  = []byte("malformed beacon\n")
	bodyTooLarge   = []byte("beacon too large\n")
	bodyBadType    = []byte("content type must be text/plain or application/json\n")
	bodyUnavail    = []byte("temporarily unavailable\n")
	bodyHeaderSize = []byte("request header too large\n")
	bodyTimeout    = []byte("request timeout\n")
	bodyBadRequest = []byte("bad request\n")
)

// acceptCH asks browsers for the User-Agent Client Hints that name the
// browser, platform and its version: they win over the frozen User-Agent
// string (Windows 11 is told from 10 only by them). No high-entropy hint
// that could single a device out (model, full version list) is asked for.
const acceptCH = "Sec-CH-UA, Sec-CH-UA-Mobile, Sec-CH-UA-Platform, Sec-CH-UA-Platform-Version"

// Response header names (already in canonical form) and values, set with
// SetCanonical: Header.Set would copy and normalise the same constant
// strings again on every hit (3% of the collector's CPU under load).
var (
	hdrCacheControl = []byte(fasthttp.HeaderCacheControl)
	hdrCORP         = []byte("Cross-Origin-Resource-Policy")
	hdrAcceptCH     = []byte("Accept-Ch")
	valNoStore      = []byte("no-store")
	valCrossOrigin  = []byte("cross-origin")
	valAcceptCH     = []byte(acceptCH)
	valGIF          = []byte("image/gif")
	valText         = []byte("text/plain; charset=utf-8")
)

// text answers a short plain-text status.
func text(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetContentTypeBytes(valText)
	ctx.Response.Header.SetCanonical(hdrCacheControl, valNoStore)
	ctx.Response.SetBodyRaw(body)
}

// pixelResponse answers the GIF. no-store keeps browsers and proxies from
// answering a later view from cache (the hit would be lost);
// Cross-Origin-Resource-Policy lets pages with COEP embed it.
func pixelResponse(ctx *fasthttp.RequestCtx, status int) {
	ctx.SetStatusCode(status)
	h := &ctx.Response.Header
	h.SetContentTypeBytes(valGIF)
	h.SetCanonical(hdrCacheControl, valNoStore)
	h.SetCanonical(hdrCORP, valCrossOrigin)
	h.SetCanonical(hdrAcceptCH, valAcceptCH)
	ctx.Response.SetBodyRaw(gifBody)
}
