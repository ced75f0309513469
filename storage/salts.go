package storage

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Salts keeps the daily visitor-hash salts in the salts table (Memory
// engine: RAM only, never on disk) so that several collectors agree on
// them. It has the method set of enrich.SaltStore, which cmd wires to it;
// storage does not import enrich.
//
// Collectors that mint a salt at the same moment both insert theirs; every
// reader takes the earliest minted (argMin(salt, minted_at)), so they
// converge on one.
//
// A salt travels only as insert data or as a query result, never inside
// query text: servers keep query text in system.query_log (on disk) and in
// error messages. It is read through hex() so that its bytes survive
// chDB's JSON results.
type Salts struct {
	conn SQL
}

// NewSalts returns a salt store on conn. The salts table comes from the
// migrations (0005_salts.sql).
func NewSalts(conn SQL) *Salts { return &Salts{conn: conn} }

// saltLen is the size of a salt; a row of another size is corrupt.
const saltLen = 32

// GetSalt returns the agreed salt of day (a UTC date; the time of day is
// ignored), ok false when the table has none.
func (s *Salts) GetSalt(ctx context.Context, day time.Time) (salt [32]byte, ok bool, err error) {
	var hexSalt string
	var n uint64
	q := "SELECT hex(argMin(salt, minted_at)), count() FROM salts WHERE day = " + dateLiteral(day)
	if err := QueryRow(ctx, s.conn, q, &hexSalt, &n); err != nil {
		return salt, false, fmt.Errorf("read salt of %s: %w", day.UTC().Format(time.DateOnly), err)
	}
	if n == 0 {
		return salt, false, nil
	}
	raw, err := hex.DecodeString(hexSalt)
	if err != nil || len(raw) != saltLen {
		// Never quote the value: it is (a corrupt) salt.
		return salt, false, fmt.Errorf("read salt of %s: stored salt has %d bytes, want %d", day.UTC().Format(time.DateOnly), len(hexSalt)/2, saltLen)
	}
	copy(salt[:], raw)
	return salt, true, nil
}

// PutSalt offers salt for day, minted at mintedAt.
func (s *Salts) PutSalt(ctx context.Context, day time.Time, salt [32]byte, mintedAt time.Time) error {
	d := dateOf(day)
	err := s.insert(ctx, d, string(salt[:]), mintedAt.UTC().Truncate(time.Second))
	if err != nil {
		return fmt.Errorf("store salt of %s: %w", d.Format(time.DateOnly), err)
	}
	return nil
}

// DeleteSaltsBefore removes the salts of every day before day.
//
// Servers that support mutations on the Memory engine (ClickHouse 20.x and
// later, chDB) run ALTER TABLE ... DELETE. Older ones (the Debian 18.16 test
// server) cannot delete single rows from a Memory table, so the rows to
// keep are read, the table truncated and the kept rows written back. A salt
// that another collector offers during that moment may be lost; that
// collector notices on its next sync and offers it again.
func (s *Salts) DeleteSaltsBefore(ctx context.Context, day time.Time) error {
	err := s.conn.ExecSQL(ctx, "ALTER TABLE salts DELETE WHERE day < "+dateLiteral(day)+" SETTINGS mutations_sync = 1")
	if err == nil {
		return nil
	}
	if err2 := s.rewriteFrom(ctx, day); err2 != nil {
		return fmt.Errorf("delete salts before %s: %w", day.UTC().Format(time.DateOnly), errors.Join(err, err2))
	}
	return nil
}

// rewriteFrom keeps only the agreed salts of the days from cut on, without
// mutations. Only today's and tomorrow's salts can exist from cut on, so
// three days are checked. The table holds a handful of rows at most.
func (s *Salts) rewriteFrom(ctx context.Context, cut time.Time) error {
	var n uint64
	if err := QueryRow(ctx, s.conn, "SELECT count() FROM salts WHERE day < "+dateLiteral(cut), &n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	type row struct {
		day    time.Time
		salt   string
		minted time.Time
	}
	var keep []row
	for i := range 3 {
		d := dateOf(cut).AddDate(0, 0, i)
		var r row
		var cnt uint64
		var hexSalt string
		q := "SELECT hex(argMin(salt, minted_at)), min(minted_at), count() FROM salts WHERE day = " + dateLiteral(d)
		if err := QueryRow(ctx, s.conn, q, &hexSalt, &r.minted, &cnt); err != nil {
			return err
		}
		raw, err := hex.DecodeString(hexSalt)
		if err != nil {
			return fmt.Errorf("salt of %s is not hex", d.Format(time.DateOnly))
		}
		r.salt = string(raw)
		if cnt > 0 {
			r.day = d
			keep = append(keep, r)
		}
	}
	if err := s.conn.ExecSQL(ctx, "TRUNCATE TABLE salts"); err != nil {
		return err
	}
	for _, r := range keep {
		if err := s.insert(ctx, r.day, r.salt, r.minted); err != nil {
			return err
		}
	}
	return nil
}

const insertSalt = "INSERT INTO salts (day, salt, minted_at)"

// dateOf is the UTC midnight of t.
func dateOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// insert writes one salts row, keeping the salt out of any error.
func (s *Salts) insert(ctx context.Context, day time.Time, salt string, minted time.Time) error {
	return withoutSecrets(s.conn.InsertRowSQL(ctx, insertSalt, day, salt, minted), salt)
}

// dateLiteral renders the UTC date of t for SQL text (a date is not a
// secret; salts never appear in query text).
func dateLiteral(t time.Time) string {
	return "toDate('" + t.UTC().Format(time.DateOnly) + "')"
}
