package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
)

// bannerAgent is the user agent of the banner's and the README's curl
// examples: curl's own ("curl/8.x") is a bot to the privacy gate, so a
// newcomer's test hit would be suppressed and the dashboard stay empty.
const bannerAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"

// printBanner tells a newcomer what `make run` started, once both
// listeners are bound: the tracker tag and pixel for the first configured
// site with the collector's real address, a test hit to paste, and where
// the dashboard is. Everything in it is literal text to copy.
func printBanner(w io.Writer, cfg *Config, l listeners) {
	col, _ := localURL(l.collector.String()) // a bound TCP address has a port
	adm, _ := localURL(l.admin.String())
	site, host := "SITE", "localhost"
	if sites := cfg.sites(); len(sites) > 0 {
		site = sites[0].ID
		for _, h := range sites[0].Hostnames {
			if !strings.HasPrefix(h, "*.") {
				host = h
				break
			}
		}
	}
	page := "http://" + host + "/"
	storage := "ClickHouse at " + cfg.Storage.ClickHouse.DSN
	if cfg.Storage.Engine == "embedded" {
		storage = "embedded storage under " + cfg.Storage.Embedded.DataDir
	}
	fmt.Fprintf(w, `
Mote is serving (%s).
  tracker:   <script defer data-site="%s" src="%s/m.js"></script>
  pixel:     <img src="%s/p.gif?s=%s&u=%s" alt="">
  test hit:  curl -A '%s' -H 'Content-Type: text/plain' -d '{"s":"%s","n":"pageview","u":"%s"}' %s/api/event
  dashboard: %s/
  metrics:   %s/metrics
  demo data: stop with Ctrl-C, run 'make demo' (30 days of synthetic traffic), then 'make run' again

`, storage, site, col, col, site, url.QueryEscape(page), bannerAgent, site, page, col, adm, adm)
}

// localURL is how a browser on this machine reaches a listener at addr:
// an unspecified host (":8080", "0.0.0.0", "::") is reached as localhost.
func localURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
