package clickhouse

import (
	"encoding/binary"

	"github.com/spaolacci/murmur3"
)

// murmurHash3_64 is ClickHouse's murmurHash3_64 of a UInt64: the XOR of the
// two halves of MurmurHash3_x64_128 (seed 0) over the value's 8
// little-endian bytes. It is not murmur3.Sum64, which is the first half
// alone. murmur3 is not a keyed PRF: it only routes rows, it never makes
// identities (visitor IDs are SipHash outputs).
func murmurHash3_64(v uint64) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	h1, h2 := murmur3.Sum128(b[:])
	return h1 ^ h2
}

// shardOf is the 0-based index, in remote_servers order, of the shard that
// a Distributed table with sharding key murmurHash3_64(visitor_id) sends a
// row to when every shard has weight 1 (ClickHouse takes the key modulo the
// total weight). A collector that writes to shards directly must agree
// with it, or a visitor's rows would split across shards.
func shardOf(visitorID uint64, shards int) int {
	if shards <= 1 {
		return 0
	}
	return int(murmurHash3_64(visitorID) % uint64(shards))
}
