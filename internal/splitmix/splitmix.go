// Package splitmix holds the SplitMix64 finalizer, the module's one bit
// mixer: the geo cache spreads its slot keys with it (enrich), the
// spool turns record positions into batch ids with it (storage/spool),
// and bench/queries makes its synthetic visitor ids with it.
package splitmix

// Mix64 is the SplitMix64 finalizer: a cheap bijection of uint64 that
// spreads every input bit over the output, so that keys which differ in
// a few bits land far apart. Batch ids stored in ClickHouse come from it:
// its constants must never change.
func Mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
