package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/internal/downloads"
)

// Config is the whole of mote's configuration: a YAML file (mote.yaml,
// see mote.example.yaml), overridden by MOTE_* environment variables,
// overridden by flags. Zero values mean the documented defaults, which
// applyDefaults fills in.
type Config struct {
	Collector struct {
		Listen         string        `yaml:"listen"`
		TrustedProxies []string      `yaml:"trusted_proxies"`
		ReadTimeout    time.Duration `yaml:"read_timeout"`
		WriteTimeout   time.Duration `yaml:"write_timeout"`
		IdleTimeout    time.Duration `yaml:"idle_timeout"`
		RateLimit      float64       `yaml:"rate_limit"`
		RateBurst      int           `yaml:"rate_burst"`
		MaxConnsPerIP  int           `yaml:"max_conns_per_ip"`
	} `yaml:"collector"`
	Admin struct {
		Listen string `yaml:"listen"`
		// PasswordHash is the dashboard login's password hash (mote admin
		// hash-password); without it only loopback clients get in.
		PasswordHash string `yaml:"password_hash"`
		// APIKeys are hashes of the stats API's Bearer keys (mote admin
		// new-api-key).
		APIKeys      []string `yaml:"api_keys"`
		CookieSecure bool     `yaml:"cookie_secure"`
		// AllowedHosts are the names the admin listener answers under
		// (against DNS rebinding): without a password in addition to
		// localhost and loopback addresses, with one the only names
		// (empty: any).
		AllowedHosts []string `yaml:"allowed_hosts"`
		// SampleAbove is the stored rows of a period above which a
		// filtered card is estimated from a sample of visitors
		// (stats.Query.SampleAbove; 0: its default).
		SampleAbove int64 `yaml:"sample_above"`
	} `yaml:"admin"`
	Storage struct {
		Engine   string `yaml:"engine"`
		Embedded struct {
			DataDir string `yaml:"data_dir"`
			Lib     string `yaml:"lib"`
		} `yaml:"embedded"`
		ClickHouse struct {
			DSN     string `yaml:"dsn"`
			Cluster string `yaml:"cluster"`
			// DirectShardWrites routes each event to its shard in the
			// collector instead of through the Distributed table.
			DirectShardWrites bool `yaml:"direct_shard_writes"`
		} `yaml:"clickhouse"`
	} `yaml:"storage"`
	GeoIP struct {
		Path     string `yaml:"path"`
		IPv4Bits int    `yaml:"ipv4_bits"`
		IPv6Bits int    `yaml:"ipv6_bits"`
	} `yaml:"geoip"`
	Spool struct {
		Dir          string `yaml:"dir"`
		MaxBytes     int64  `yaml:"max_bytes"`
		SegmentBytes int64  `yaml:"segment_bytes"`
	} `yaml:"spool"`
	Batch           batchConfig   `yaml:"batch"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	LogLevel        string        `yaml:"log_level"`
	Sites           []SiteConfig  `yaml:"sites"`
}

// SiteConfig is one entry of the sites list.
type SiteConfig struct {
	ID            string   `yaml:"id"`
	Hostnames     []string `yaml:"hostnames"`
	Consent       string   `yaml:"consent"`
	Timezone      string   `yaml:"timezone"`
	RetentionDays int      `yaml:"retention_days"`
	IgnoreDNTGPC  bool     `yaml:"ignore_dnt_gpc"`
	GeoPrecision  string   `yaml:"geo_precision"`
	HashRouting   bool     `yaml:"hash_routing"`
	QueryKeys     []string `yaml:"query_keys"`
	// KAnonymity is the fewest visitors a city or region row of a report
	// shows (smaller rows fold into "(other)"); unset means
	// mote.DefaultKAnonymity, 0 turns the folding off.
	KAnonymity *int `yaml:"k_anonymity"`
	// Goals are the conversions the dashboard reports (see goalConfig).
	Goals []goalConfig `yaml:"goals"`
}

// configError names the configuration key at fault, so that an operator
// can find it in the file, the environment or the flags.
type configError struct {
	key string
	msg string
}

// batchConfig is the batcher's part of the configuration.
type batchConfig struct {
	MaxRows int           `yaml:"max_rows"`
	MaxWait time.Duration `yaml:"max_wait"`
}

// badSetting is the error of a setting's value, named by its key.
func badSetting(key, format string, args ...any) error {
	return &configError{key: key, msg: fmt.Sprintf(format, args...)}
}

func (e *configError) Error() string { return "config " + e.key + ": " + e.msg }

// setting is one scalar that the environment and flags may override.
type setting struct {
	key   string // dotted YAML path, used in error messages
	env   string
	flag  string
	usage string
	set   func(c *Config, v string) error
}

func durationSetter(field func(c *Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("not a duration (e.g. 5s, 1m)")
		}
		*field(c) = d
		return nil
	}
}

func intSetter[T int | int64](field func(c *Config) *T) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errors.New("not a whole number")
		}
		*field(c) = T(n)
		return nil
	}
}

func stringSetter(field func(c *Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *field(c) = v; return nil }
}

var settings = []setting{
	{"collector.listen", "MOTE_LISTEN", "listen", "beacon listener address", stringSetter(func(c *Config) *string { return &c.Collector.Listen })},
	{"collector.trusted_proxies", "MOTE_TRUSTED_PROXIES", "trusted-proxies", "comma-separated CIDRs whose forwarded headers are believed", func(c *Config, v string) error {
		c.Collector.TrustedProxies = splitList(v)
		return nil
	}},
	{"collector.rate_limit", "MOTE_RATE_LIMIT", "rate-limit", "hits per second allowed from one client /24 or /48 network; past it 429 (0: no limit)", func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return errors.New("not a number")
		}
		c.Collector.RateLimit = f
		return nil
	}},
	{"collector.rate_burst", "MOTE_RATE_BURST", "rate-burst", "hits one network may send at once before the rate limit applies (default twice the rate)", intSetter(func(c *Config) *int { return &c.Collector.RateBurst })},
	{"collector.max_conns_per_ip", "MOTE_MAX_CONNS_PER_IP", "max-conns-per-ip", "concurrent connections allowed from one socket address (0: no cap)", intSetter(func(c *Config) *int { return &c.Collector.MaxConnsPerIP })},
	{"admin.listen", "MOTE_ADMIN_LISTEN", "admin-listen", "admin listener address (metrics, dashboard)", stringSetter(func(c *Config) *string { return &c.Admin.Listen })},
	{"admin.password_hash", "MOTE_ADMIN_PASSWORD_HASH", "admin-password-hash", "dashboard password hash from `mote admin hash-password` (none: loopback clients only)", stringSetter(func(c *Config) *string { return &c.Admin.PasswordHash })},
	{"admin.api_keys", "MOTE_ADMIN_API_KEYS", "admin-api-keys", "comma-separated hashes of stats API Bearer keys (mote admin new-api-key)", func(c *Config, v string) error {
		c.Admin.APIKeys = splitList(v)
		return nil
	}},
	{"admin.cookie_secure", "MOTE_ADMIN_COOKIE_SECURE", "admin-cookie-secure", "mark the session cookie Secure on plain HTTP too (TLS ends at a proxy)", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("not true or false")
		}
		c.Admin.CookieSecure = b
		return nil
	}},
	{"admin.allowed_hosts", "MOTE_ADMIN_ALLOWED_HOSTS", "admin-allowed-hosts", "comma-separated host names the admin listener answers under besides localhost (with a password: the only ones; empty: any)", func(c *Config, v string) error {
		c.Admin.AllowedHosts = splitList(v)
		return nil
	}},
	{"admin.sample_above", "MOTE_ADMIN_SAMPLE_ABOVE", "admin-sample-above", "stored rows of a period above which a filtered dashboard card is estimated from a sample of visitors (0: 10000000)", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errors.New("not a whole number of rows")
		}
		c.Admin.SampleAbove = n
		return nil
	}},
	{"storage.engine", "MOTE_STORAGE_ENGINE", "storage", "storage engine: embedded (chDB in-process) or clickhouse (a server)", stringSetter(func(c *Config) *string { return &c.Storage.Engine })},
	{"storage.embedded.data_dir", "MOTE_DATA_DIR", "data-dir", "embedded engine's data directory", stringSetter(func(c *Config) *string { return &c.Storage.Embedded.DataDir })},
	{"storage.embedded.lib", "MOTE_CHDB_LIB", "chdb-lib", "path of libchdb.so (default: the cache `make chdb` fills)", stringSetter(func(c *Config) *string { return &c.Storage.Embedded.Lib })},
	{"storage.clickhouse.dsn", "MOTE_CLICKHOUSE_DSN", "clickhouse-dsn", "ClickHouse DSN, clickhouse://host:9000/db", stringSetter(func(c *Config) *string { return &c.Storage.ClickHouse.DSN })},
	{"storage.clickhouse.cluster", "MOTE_CLICKHOUSE_CLUSTER", "clickhouse-cluster", "ClickHouse cluster name (remote_servers): ON CLUSTER migrations, Replicated + Distributed tables", stringSetter(func(c *Config) *string { return &c.Storage.ClickHouse.Cluster })},
	{"storage.clickhouse.direct_shard_writes", "MOTE_CLICKHOUSE_DIRECT_SHARD_WRITES", "clickhouse-direct-shard-writes", "in cluster mode, insert each event into its shard's events_local table instead of through the Distributed table", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("not true or false")
		}
		c.Storage.ClickHouse.DirectShardWrites = b
		return nil
	}},
	{"geoip.path", "MOTE_GEOIP_DB", "geoip-db", "GeoLite2/GeoIP2 City database (default: the cache `make geoip` fills)", stringSetter(func(c *Config) *string { return &c.GeoIP.Path })},
	{"spool.dir", "MOTE_SPOOL_DIR", "spool-dir", "write-ahead spool directory", stringSetter(func(c *Config) *string { return &c.Spool.Dir })},
	{"spool.max_bytes", "MOTE_SPOOL_MAX_BYTES", "spool-max-bytes", "cap on unsent spool bytes; past it hits get 503", intSetter(func(c *Config) *int64 { return &c.Spool.MaxBytes })},
	{"batch.max_rows", "MOTE_BATCH_MAX_ROWS", "batch-max-rows", "rows per ClickHouse insert", intSetter(func(c *Config) *int { return &c.Batch.MaxRows })},
	{"batch.max_wait", "MOTE_BATCH_MAX_WAIT", "batch-max-wait", "longest wait before a partial batch is inserted", durationSetter(func(c *Config) *time.Duration { return &c.Batch.MaxWait })},
	{"shutdown_timeout", "MOTE_SHUTDOWN_TIMEOUT", "shutdown-timeout", "how long SIGTERM may take to drain and flush", durationSetter(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"log_level", "MOTE_LOG_LEVEL", "log-level", "debug, info, warn or error", stringSetter(func(c *Config) *string { return &c.LogLevel })},
}

// loadConfig reads the file named by -config (or MOTE_CONFIG, or mote.yaml
// when it exists), then applies the environment, then the flags, then the
// defaults, and validates the result.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (*Config, error) {
	path := fs.String("config", "", "configuration file (default mote.yaml when present; env MOTE_CONFIG)")
	flagValues := make(map[string]*string, len(settings))
	for _, s := range settings {
		flagValues[s.key] = fs.String(s.flag, "", s.usage+" (env "+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	file := *path
	if file == "" {
		file = getenv("MOTE_CONFIG")
	}
	explicit := file != ""
	if !explicit {
		file = "mote.yaml"
	}
	cfg := new(Config)
	data, err := os.ReadFile(file)
	switch {
	case err == nil:
		if err := decodeYAML(data, cfg); err != nil {
			return nil, fmt.Errorf("config %s: %w", file, err)
		}
	case explicit || !errors.Is(err, os.ErrNotExist):
		return nil, &configError{key: "file", msg: err.Error()}
	}
	for _, s := range settings {
		if v := getenv(s.env); v != "" {
			if err := s.set(cfg, v); err != nil {
				return nil, &configError{key: s.key + " (env " + s.env + ")", msg: err.Error()}
			}
		}
	}
	for _, s := range settings {
		if v := *flagValues[s.key]; v != "" {
			if err := s.set(cfg, v); err != nil {
				return nil, &configError{key: s.key + " (flag -" + s.flag + ")", msg: err.Error()}
			}
		}
	}
	applyDefaults(cfg)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

var yamlLine = regexp.MustCompile(`line (\d+): field (\S+) not found in type`)

// decodeYAML refuses unknown keys: a misspelt key silently ignored is how a
// privacy setting ends up not applied.
func decodeYAML(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			return fmt.Errorf("line %s: unknown key %q", m[1], m[2])
		}
		return err
	}
	return nil
}

func applyDefaults(c *Config) {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Collector.Listen, ":8080")
	def(&c.Admin.Listen, "127.0.0.1:8081")
	def(&c.Storage.Engine, "embedded")
	def(&c.Storage.Embedded.DataDir, "data/chdb")
	def(&c.Storage.ClickHouse.DSN, "clickhouse://127.0.0.1:9000/mote")
	def(&c.Spool.Dir, "data/spool")
	def(&c.Storage.Embedded.Lib, downloads.ChDBLib())
	def(&c.GeoIP.Path, downloads.GeoLite2City())
	if c.GeoIP.IPv4Bits == 0 {
		c.GeoIP.IPv4Bits = enrich.DefaultIPv4Bits
	}
	if c.GeoIP.IPv6Bits == 0 {
		c.GeoIP.IPv6Bits = enrich.DefaultIPv6Bits
	}
	def(&c.LogLevel, "info")
	defDur(&c.ShutdownTimeout, 10*time.Second)
	for i := range c.Sites {
		def(&c.Sites[i].Consent, string(mote.ConsentExempt))
		def(&c.Sites[i].Timezone, "UTC")
		def(&c.Sites[i].GeoPrecision, "city")
	}
}

var siteID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

func (c *Config) validate() error {
	for i, p := range c.Collector.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			return badSetting(fmt.Sprintf("collector.trusted_proxies[%d]", i), "%q is not a CIDR (e.g. 10.0.0.0/8)", p)
		}
	}
	if r := c.Collector.RateLimit; r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return badSetting("collector.rate_limit", "%v must be a number of hits per second, 0 or more", r)
	}
	for key, v := range map[string]int{"collector.rate_burst": c.Collector.RateBurst, "collector.max_conns_per_ip": c.Collector.MaxConnsPerIP} {
		if v < 0 {
			return badSetting(key, "must not be negative")
		}
	}
	if err := c.validateDashboards(); err != nil {
		return err
	}
	switch c.Storage.Engine {
	case "embedded", "clickhouse":
	default:
		return badSetting("storage.engine", "%q is not an engine (embedded or clickhouse)", c.Storage.Engine)
	}
	if !strings.HasPrefix(c.Storage.ClickHouse.DSN, "clickhouse://") {
		return badSetting("storage.clickhouse.dsn", "must start with clickhouse://")
	}
	if c.Storage.ClickHouse.DirectShardWrites && c.Storage.ClickHouse.Cluster == "" {
		return badSetting("storage.clickhouse.direct_shard_writes", "needs storage.clickhouse.cluster")
	}
	// Addresses are truncated before the geo lookup; a longer prefix than
	// the defaults would come close to identifying a household.
	if c.GeoIP.IPv4Bits < 8 || c.GeoIP.IPv4Bits > enrich.DefaultIPv4Bits {
		return badSetting("geoip.ipv4_bits", "%d is outside 8-%d", c.GeoIP.IPv4Bits, enrich.DefaultIPv4Bits)
	}
	if c.GeoIP.IPv6Bits < 16 || c.GeoIP.IPv6Bits > enrich.DefaultIPv6Bits {
		return badSetting("geoip.ipv6_bits", "%d is outside 16-%d", c.GeoIP.IPv6Bits, enrich.DefaultIPv6Bits)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return badSetting("log_level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	for key, v := range map[string]int64{"spool.max_bytes": c.Spool.MaxBytes, "spool.segment_bytes": c.Spool.SegmentBytes, "batch.max_rows": int64(c.Batch.MaxRows)} {
		if v < 0 {
			return badSetting(key, "must not be negative")
		}
	}
	if len(c.Sites) == 0 {
		return badSetting("sites", "no site configured: add at least one (see mote.example.yaml)")
	}
	seen := map[string]bool{}
	for i, s := range c.Sites {
		if err := s.validate(fmt.Sprintf("sites[%d]", i), seen); err != nil {
			return err
		}
	}
	return nil
}

// validate checks one site's settings; key names it in errors ("sites[2]")
// and seen holds the ids of the sites before it.
func (s SiteConfig) validate(key string, seen map[string]bool) error {
	if !siteID.MatchString(s.ID) {
		return badSetting(key+".id", "%q must be 1-64 characters of a-z, 0-9, '.', '_' or '-'", s.ID)
	}
	if seen[s.ID] {
		return badSetting(key+".id", "%q is listed twice", s.ID)
	}
	seen[s.ID] = true
	if len(s.Hostnames) == 0 {
		return badSetting(key+".hostnames", "site %q lists no hostname", s.ID)
	}
	for j, h := range s.Hostnames {
		if h == "" || strings.ContainsAny(h, "/: ") {
			return badSetting(fmt.Sprintf("%s.hostnames[%d]", key, j), "%q is not a host name (no scheme, port or path)", h)
		}
	}
	switch mote.ConsentMode(s.Consent) {
	case mote.ConsentExempt, mote.ConsentRequired:
	default:
		return badSetting(key+".consent", "%q is not exempt or required", s.Consent)
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil {
		return badSetting(key+".timezone", "%q is not an IANA time zone", s.Timezone)
	}
	if _, err := enrich.ParsePrecision(s.GeoPrecision); err != nil {
		return badSetting(key+".geo_precision", "%q is not city, region, country or none", s.GeoPrecision)
	}
	if s.RetentionDays < 0 {
		return badSetting(key+".retention_days", "must not be negative")
	}
	if s.KAnonymity != nil && *s.KAnonymity < 0 {
		return badSetting(key+".k_anonymity", "must not be negative (0 turns it off)")
	}
	return nil
}

// sites converts the configured sites into domain values.
// kAnonymity maps the k_anonymity key to mote.Site.KAnonymity, whose
// zero value means the default: unset → 0 (mote.DefaultKAnonymity), 0 → off (-1).
func kAnonymity(k *int) int {
	switch {
	case k == nil:
		return 0
	case *k == 0:
		return -1
	}
	return *k
}

func (c *Config) sites() []mote.Site {
	out := make([]mote.Site, len(c.Sites))
	for i, s := range c.Sites {
		out[i] = mote.Site{
			ID:           s.ID,
			Hostnames:    s.Hostnames,
			Consent:      mote.ConsentMode(s.Consent),
			Timezone:     s.Timezone,
			Retention:    time.Duration(s.RetentionDays) * 24 * time.Hour,
			IgnoreDNT:    s.IgnoreDNTGPC,
			GeoPrecision: s.GeoPrecision,
			HashRouting:  s.HashRouting,
			QueryKeys:    s.QueryKeys,
			KAnonymity:   kAnonymity(s.KAnonymity),
		}
	}
	return out
}

// trustedProxies parses the validated CIDR list.
func (c *Config) trustedProxies() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(c.Collector.TrustedProxies))
	for _, p := range c.Collector.TrustedProxies {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

func splitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
