package enrich

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// SaltStore shares the daily salts between collectors that must agree on
// visitor IDs (several collectors behind one load balancer). An
// implementation must keep salts in RAM only — storage implements it on the
// ClickHouse salts table with the Memory engine — and must never log them.
//
// Days are UTC midnights.
type SaltStore interface {
	// GetSalt returns the salt agreed for day: of all salts offered for it,
	// the one minted first. ok is false when the store has none.
	GetSalt(ctx context.Context, day time.Time) (salt [32]byte, ok bool, err error)
	// PutSalt offers salt for day. Collectors that mint at the same moment
	// both offer theirs; GetSalt picks one for everybody.
	PutSalt(ctx context.Context, day time.Time, salt [32]byte, mintedAt time.Time) error
	// DeleteSaltsBefore removes every salt of the days before day.
	DeleteSaltsBefore(ctx context.Context, day time.Time) error
}

// Liveness tells whether a visitor ID has a session still running, so that
// a visit that started before midnight keeps yesterday's visitor ID during
// the overlap. Sessions implements it.
type Liveness interface {
	Live(visitorID uint64, now time.Time) bool
}

// Defaults of SaltConfig.
const (
	DefaultSaltOverlap = 30 * time.Minute
	DefaultSaltSync    = time.Minute
	// saltPremint is how long before midnight tomorrow's salt is minted
	// (and shared), so the switch at midnight needs no I/O on the hit path.
	saltPremint = 5 * time.Minute
	// saltStoreTimeout bounds each call to the SaltStore.
	saltStoreTimeout = 10 * time.Second
)

// SaltConfig configures a SaltKeeper. The zero value keeps salts in this
// process only, on the real clock.
type SaltConfig struct {
	// Store shares salts with other collectors; nil keeps them in memory
	// only (a single collector).
	Store SaltStore
	// Now is the clock; nil means time.Now. Days are UTC days of Now.
	Now func() time.Time
	// Overlap is how long after midnight yesterday's salt is still used for
	// visitors whose session started yesterday; default 30 minutes. After
	// it, yesterday's salt is zeroed in memory and deleted from the Store.
	Overlap time.Duration
	// Sync is how often Run re-reads the Store, so that collectors converge
	// on one salt and a Store that restarted gets today's salt back;
	// default one minute.
	Sync time.Duration
	// Rand is the source of salts; nil means crypto/rand.
	Rand io.Reader
	// Logger receives store errors (never a salt); nil discards them.
	Logger *slog.Logger
}

// saltSlot holds the salt of one UTC day.
type saltSlot struct {
	day    int64 // days since 1970-01-01 UTC
	salt   [32]byte
	used   bool
	shared bool // offered to (or read from) the Store
}

// SaltKeeper holds one 32-byte salt per UTC day, drawn from crypto/rand,
// and never writes it to disk: it lives in this struct and, when a Store is
// configured, in the Store's RAM. It holds at most three salts: yesterday's
// during the overlap after midnight, today's, and tomorrow's in the last
// minutes before midnight (minted early so the switch needs no I/O).
//
// VisitorID is safe for concurrent use and does not allocate. Run (or
// Refresh, called on a schedule) rotates and wipes salts.
type SaltKeeper struct {
	cfg SaltConfig

	mu    sync.RWMutex
	slots [3]saltSlot
	// refreshing serialises Refresh: Run calls it on schedule and the
	// storage link when storage comes back, and both read and write the
	// state below. The hit path never takes it.
	refreshing sync.Mutex
	// purged is the last day before which the Store was cleared.
	purged int64
}

// NewSaltKeeper returns a keeper with no salt yet; the first Refresh or
// VisitorID mints or fetches today's.
func NewSaltKeeper(cfg SaltConfig) *SaltKeeper {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Overlap <= 0 {
		cfg.Overlap = DefaultSaltOverlap
	}
	if cfg.Sync <= 0 {
		cfg.Sync = DefaultSaltSync
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &SaltKeeper{cfg: cfg}
}

// dayNumber is the UTC day of t, in days since 1970-01-01 (floored, so
// instants before 1970 work too).
func dayNumber(t time.Time) int64 {
	u := t.Unix()
	d := u / 86400
	if u%86400 < 0 {
		d--
	}
	return d
}

func dayTime(day int64) time.Time { return time.Unix(day*86400, 0).UTC() }

// slot returns the slot of day, or nil. Callers hold mu.
func (k *SaltKeeper) slot(day int64) *saltSlot {
	for i := range k.slots {
		if s := &k.slots[i]; s.used && s.day == day {
			return s
		}
	}
	return nil
}

// VisitorID returns the visitor ID of a hit received at now (see the
// package-level VisitorID). During the overlap after midnight it returns
// yesterday's ID instead when live reports a session running under it, so
// a visit crossing midnight stays one visit; live may be nil.
//
// When today's salt is missing (Refresh has not run yet, or the Store was
// unreachable at midnight) one is minted in memory at once and shared by
// the next Refresh: a hit never goes without an ID and never waits for I/O.
func (k *SaltKeeper) VisitorID(now time.Time, site string, ip netip.Addr, ua string, live Liveness) uint64 {
	day := dayNumber(now)
	inOverlap := now.Sub(dayTime(day)) < k.cfg.Overlap
	var id, yid uint64
	var haveY bool
	k.mu.RLock()
	s := k.slot(day)
	if s == nil {
		k.mu.RUnlock()
		k.mintLocal(day)
		k.mu.RLock()
		s = k.slot(day)
	}
	if s != nil {
		id = VisitorID(&s.salt, site, ip, ua)
	}
	if inOverlap && live != nil {
		if y := k.slot(day - 1); y != nil {
			yid, haveY = VisitorID(&y.salt, site, ip, ua), true
		}
	}
	k.mu.RUnlock()
	if haveY && live.Live(yid, now) {
		return yid
	}
	return id
}

// mintLocal mints day's salt in memory if it is still missing.
func (k *SaltKeeper) mintLocal(day int64) {
	var salt [32]byte
	if _, err := io.ReadFull(k.cfg.Rand, salt[:]); err != nil {
		// crypto/rand does not fail on supported systems; a broken Rand in
		// a test leaves the hit with the ID of a zero salt rather than none.
		k.cfg.Logger.Error("enrich: salt source failed", "err", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.slot(day) == nil {
		k.install(day, salt, false)
	}
	clear(salt[:])
}

// install puts salt for day into a free slot (or the oldest one, wiping
// it). Callers hold mu for writing.
func (k *SaltKeeper) install(day int64, salt [32]byte, shared bool) {
	if s := k.slot(day); s != nil {
		s.salt, s.shared = salt, shared
		return
	}
	victim := &k.slots[0]
	for i := range k.slots {
		s := &k.slots[i]
		if !s.used {
			victim = s
			break
		}
		if s.day < victim.day {
			victim = s
		}
	}
	*victim = saltSlot{day: day, salt: salt, used: true, shared: shared}
}

// Refresh brings the keeper up to date with the clock and the Store: it
// fetches or mints today's salt (and tomorrow's shortly before midnight),
// fetches yesterday's during the overlap if the Store still has it, adopts
// the Store's choice where collectors minted different salts, offers salts
// the Store lost, and wipes salts past their day plus the overlap, in
// memory and in the Store. Run calls it on schedule; errors are returned
// after every step was tried, and the next Refresh retries.
func (k *SaltKeeper) Refresh(ctx context.Context) error {
	k.refreshing.Lock()
	defer k.refreshing.Unlock()
	now := k.cfg.Now().UTC()
	today := dayNumber(now)
	inOverlap := now.Sub(dayTime(today)) < k.cfg.Overlap
	var errs []error

	k.wipe(today, inOverlap)
	if k.cfg.Store != nil && !inOverlap && k.purged < today {
		if err := k.storeCall(ctx, func(c context.Context) error {
			return k.cfg.Store.DeleteSaltsBefore(c, dayTime(today))
		}); err != nil {
			errs = append(errs, fmt.Errorf("delete old salts: %w", err))
		} else {
			k.purged = today
		}
	}

	if inOverlap && k.cfg.Store != nil {
		if err := k.fetch(ctx, today-1); err != nil {
			errs = append(errs, err)
		}
	}
	if err := k.ensure(ctx, today, now); err != nil {
		errs = append(errs, err)
	}
	if dayTime(today+1).Sub(now) <= saltPremint {
		if err := k.ensure(ctx, today+1, now); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("refresh salts: %w", errors.Join(errs...))
	}
	return nil
}

// wipe zeroes the salts whose time is over: every day before yesterday,
// and yesterday once the overlap has passed.
func (k *SaltKeeper) wipe(today int64, inOverlap bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range k.slots {
		s := &k.slots[i]
		if s.used && (s.day < today-1 || s.day == today-1 && !inOverlap) {
			clear(s.salt[:])
			*s = saltSlot{}
		}
	}
}

// fetch adopts the Store's salt for day if it has one; it never mints.
func (k *SaltKeeper) fetch(ctx context.Context, day int64) error {
	salt, ok, err := k.get(ctx, day)
	if err != nil {
		return err
	}
	if ok {
		k.mu.Lock()
		k.install(day, salt, true)
		k.mu.Unlock()
		clear(salt[:])
	}
	return nil
}

// ensure makes sure the keeper holds day's salt and, with a Store, that
// the Store holds the same one.
func (k *SaltKeeper) ensure(ctx context.Context, day int64, now time.Time) error {
	if k.cfg.Store == nil {
		k.mu.RLock()
		have := k.slot(day) != nil
		k.mu.RUnlock()
		if !have {
			k.mintLocal(day)
		}
		return nil
	}
	salt, ok, err := k.get(ctx, day)
	if err != nil {
		return err
	}
	defer clear(salt[:])
	if ok {
		k.mu.Lock()
		k.install(day, salt, true)
		k.mu.Unlock()
		return nil
	}
	// The Store has none: offer ours (minted now if we have none either),
	// then read back the agreed one, which may be another collector's.
	k.mu.RLock()
	s := k.slot(day)
	if s != nil {
		salt = s.salt
	}
	k.mu.RUnlock()
	if s == nil {
		if _, err := io.ReadFull(k.cfg.Rand, salt[:]); err != nil {
			return fmt.Errorf("mint salt: %w", err)
		}
	}
	if err := k.storeCall(ctx, func(c context.Context) error {
		return k.cfg.Store.PutSalt(c, dayTime(day), salt, now)
	}); err != nil {
		// Keep using our own salt; the next Refresh offers it again.
		k.mu.Lock()
		if k.slot(day) == nil {
			k.install(day, salt, false)
		}
		k.mu.Unlock()
		return fmt.Errorf("share salt: %w", err)
	}
	agreed, ok, err := k.get(ctx, day)
	defer clear(agreed[:])
	if err != nil || !ok {
		agreed = salt
	}
	k.mu.Lock()
	k.install(day, agreed, true)
	k.mu.Unlock()
	return err
}

func (k *SaltKeeper) get(ctx context.Context, day int64) (salt [32]byte, ok bool, err error) {
	err = k.storeCall(ctx, func(c context.Context) error {
		var err error
		salt, ok, err = k.cfg.Store.GetSalt(c, dayTime(day))
		return err
	})
	if err != nil {
		return salt, false, fmt.Errorf("get salt: %w", err)
	}
	return salt, ok, nil
}

func (k *SaltKeeper) storeCall(ctx context.Context, f func(context.Context) error) error {
	c, cancel := context.WithTimeout(ctx, saltStoreTimeout)
	defer cancel()
	return f(c)
}

// Run refreshes the keeper at every moment that matters — shortly before
// midnight, at midnight, at the end of the overlap — and every Sync in
// between, until ctx ends. It then zeroes every salt it holds: a stopped
// collector keeps nothing. Refresh errors are logged (without the salt)
// and retried.
func (k *SaltKeeper) Run(ctx context.Context) error {
	defer k.wipeAll()
	for {
		if err := k.Refresh(ctx); err != nil && ctx.Err() == nil {
			k.cfg.Logger.Warn("enrich: salt refresh failed; retrying", "err", err)
		}
		t := time.NewTimer(k.nextWake(k.cfg.Now().UTC()))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// nextWake is how long Run sleeps after a Refresh at now.
func (k *SaltKeeper) nextWake(now time.Time) time.Duration {
	today := dayTime(dayNumber(now))
	wait := k.cfg.Sync
	for _, at := range []time.Time{
		today.Add(24*time.Hour - saltPremint),
		today.Add(24 * time.Hour),
		today.Add(k.cfg.Overlap),
	} {
		if d := at.Sub(now); d > 0 && d < wait {
			wait = d
		}
	}
	return wait
}

// wipeAll zeroes every salt in memory.
func (k *SaltKeeper) wipeAll() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range k.slots {
		clear(k.slots[i].salt[:])
		k.slots[i] = saltSlot{}
	}
}

// Days lists the UTC days whose salts the keeper holds, oldest first. It
// exists for health checks and tests; the salts themselves are never
// exposed.
func (k *SaltKeeper) Days() []time.Time {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var out []time.Time
	for _, s := range k.slots {
		if s.used {
			out = append(out, dayTime(s.day))
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Before(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
