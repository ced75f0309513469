package enrich

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	geoip2 "github.com/oschwald/geoip2-golang/v2"
)

// Default truncation: a /24 keeps 98% of the city answers of a full IPv4
// lookup on GeoLite2 City while hiding the host among 256 addresses; a /48
// is the usual size of one IPv6 site allocation.
const (
	DefaultIPv4Bits = 24
	DefaultIPv6Bits = 48

	// DefaultGeoCacheSize is the number of networks Geo remembers.
	DefaultGeoCacheSize = 1 << 14
)

// TruncateIP returns the network of ip kept for geo lookups: the first v4Bits
// of an IPv4 address (IPv4-mapped IPv6 addresses count as IPv4) or the first
// v6Bits of an IPv6 address, with the zone dropped. A bit count of zero or
// out of range means the default (/24, /48). An invalid ip gives the zero
// Prefix.
//
// Nothing downstream of TruncateIP sees the full address: the geo cache is
// keyed on the prefix and the database is asked about its first address.
func TruncateIP(ip netip.Addr, v4Bits, v6Bits int) netip.Prefix {
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	ip = ip.Unmap().WithZone("")
	bits := v6Bits
	if ip.Is4() {
		bits = v4Bits
		if bits <= 0 || bits > 32 {
			bits = DefaultIPv4Bits
		}
	} else if bits <= 0 || bits > 128 {
		bits = DefaultIPv6Bits
	}
	p, err := ip.Prefix(bits)
	if err != nil { // unreachable: bits is in range and the zone is gone
		return netip.Prefix{}
	}
	return p
}

// Precision is how much of a Location a site keeps. The zero value is
// city, the most Mote ever stores (privacy invariant 8).
type Precision uint8

// Precisions, from most to least detailed.
const (
	PrecisionCity Precision = iota
	PrecisionRegion
	PrecisionCountry
	PrecisionNone
)

// String returns the configuration name of p.
func (p Precision) String() string {
	switch p {
	case PrecisionCity:
		return "city"
	case PrecisionRegion:
		return "region"
	case PrecisionCountry:
		return "country"
	case PrecisionNone:
		return "none"
	}
	return fmt.Sprintf("precision(%d)", uint8(p))
}

// ParsePrecision reads a configuration value: city, region, country or
// none; "" means city.
func ParsePrecision(s string) (Precision, error) {
	switch s {
	case "", "city":
		return PrecisionCity, nil
	case "region":
		return PrecisionRegion, nil
	case "country":
		return PrecisionCountry, nil
	case "none":
		return PrecisionNone, nil
	}
	return 0, fmt.Errorf("unknown geo precision %q (want city, region, country or none)", s)
}

// Location is what Mote keeps of where a hit came from. Empty fields mean
// unknown (or cut by the precision).
type Location struct {
	Country string // ISO 3166-1 alpha-2, e.g. "US"
	Region  string // ISO 3166-2 of the largest subdivision, e.g. "US-CA"
	City    string // English name, e.g. "Mountain View"
}

// At returns l cut to precision p.
func (l Location) At(p Precision) Location {
	switch p {
	case PrecisionCity:
		return l
	case PrecisionRegion:
		return Location{Country: l.Country, Region: l.Region}
	case PrecisionCountry:
		return Location{Country: l.Country}
	}
	return Location{}
}

// GeoConfig configures a Geo. The zero value means the defaults.
type GeoConfig struct {
	// IPv4Bits and IPv6Bits are the prefix lengths kept of an address
	// before the lookup (default 24 and 48; see TruncateIP).
	IPv4Bits, IPv6Bits int
	// CacheSize is the number of networks remembered (default 16384,
	// rounded up to a power of two). Each entry is one network and its
	// Location, about 100 bytes plus the names; see slotCache for the
	// eviction rule.
	CacheSize int
}

// Geo looks up the Location of truncated addresses in a GeoIP2 or GeoLite2
// City database. It is safe for concurrent use; Reload swaps the database
// under running lookups.
type Geo struct {
	path string
	cfg  GeoConfig
	mu   sync.Mutex // serialises Reload
	db   atomic.Pointer[geoDB]
}

// geoDB is one opened database and the answers it gave. They are swapped
// together so a reload never serves answers of the previous file.
type geoDB struct {
	reader *geoip2.Reader
	cache  *slotCache[netip.Prefix, Location]
	stat   geoFileStamp
}

// OpenGeo opens the City database at path. It always returns a usable Geo:
// when the file is missing or not a City database the error says so (the
// caller logs it once, at start) and lookups return empty Locations until a
// Reload succeeds.
func OpenGeo(path string, cfg GeoConfig) (*Geo, error) {
	if cfg.IPv4Bits <= 0 || cfg.IPv4Bits > 32 {
		cfg.IPv4Bits = DefaultIPv4Bits
	}
	if cfg.IPv6Bits <= 0 || cfg.IPv6Bits > 128 {
		cfg.IPv6Bits = DefaultIPv6Bits
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultGeoCacheSize
	}
	g := &Geo{path: path, cfg: cfg}
	return g, g.Reload()
}

// Reload reads the database file again and swaps it in atomically: lookups
// running meanwhile finish on the old one, later ones use the new one with
// an empty cache. When the new file cannot be used the current database
// stays in service and the error is returned.
//
// The file is read into memory rather than memory-mapped: an old database
// is then freed by the garbage collector once no lookup holds it, instead of
// being unmapped under a lookup that is still reading it.
func (g *Geo) Reload() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.path == "" {
		return errors.New("open geoip database: no path configured")
	}
	stamp, err := geoStat(g.path)
	if err != nil {
		return fmt.Errorf("open geoip database %q: %w", g.path, err)
	}
	data, err := os.ReadFile(g.path)
	if err != nil {
		return fmt.Errorf("open geoip database %q: %w", g.path, err)
	}
	r, err := geoip2.OpenBytes(data)
	if err != nil {
		return fmt.Errorf("open geoip database %q: %w", g.path, err)
	}
	// A database of another kind (ASN, ISP, ...) opens fine but cannot
	// answer City lookups: refuse it here rather than on every hit.
	if _, err := r.City(netip.IPv4Unspecified()); err != nil {
		return fmt.Errorf("open geoip database %q: not a City database (%s): %w", g.path, r.Metadata().DatabaseType, err)
	}
	g.db.Store(&geoDB{reader: r, cache: newSlotCache[netip.Prefix, Location](g.cfg.CacheSize), stat: stamp})
	return nil
}

// Ready reports whether a database is loaded.
func (g *Geo) Ready() bool { return g != nil && g.db.Load() != nil }

// Lookup returns the Location of ip's network cut to precision p. It
// truncates ip first (GeoConfig bits); only the network is looked up and
// cached. Without a database, for an invalid or private address, or for
// PrecisionNone it returns the zero Location. A cached network costs no
// allocation.
func (g *Geo) Lookup(ip netip.Addr, p Precision) Location {
	if g == nil || p >= PrecisionNone {
		return Location{}
	}
	return g.LookupPrefix(TruncateIP(ip, g.cfg.IPv4Bits, g.cfg.IPv6Bits), p)
}

// LookupPrefix is Lookup for a network already truncated by the caller (for
// instance with TruncateIP, to share the work with a rate limiter). The
// database is asked about the network's first address.
func (g *Geo) LookupPrefix(network netip.Prefix, p Precision) Location {
	if g == nil || p >= PrecisionNone || !network.IsValid() {
		return Location{}
	}
	db := g.db.Load()
	if db == nil {
		return Location{}
	}
	network = network.Masked() // the cache must never hold host bits
	h := slotHashPrefix(network)
	if loc, ok := db.cache.get(h, network); ok {
		return loc.At(p)
	}
	loc := db.find(network.Addr())
	db.cache.put(h, network, loc)
	return loc.At(p)
}

// find decodes the Location of addr. A decoding error (a corrupt record)
// gives whatever was decoded before it, usually nothing.
func (db *geoDB) find(addr netip.Addr) Location {
	c, err := db.reader.City(addr)
	if c == nil || (err != nil && !c.HasData()) {
		return Location{}
	}
	loc := Location{Country: c.Country.ISOCode, City: c.City.Names.English}
	if len(c.Subdivisions) > 0 && c.Subdivisions[0].ISOCode != "" && loc.Country != "" {
		loc.Region = loc.Country + "-" + c.Subdivisions[0].ISOCode
	}
	return loc
}
