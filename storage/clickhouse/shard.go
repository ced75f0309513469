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

// shardRanges routes by shard weight the way a Distributed table does.
// ClickHouse lays the shards' weights end to end in remote_servers order
// (Cluster's slot_to_shard: weight w adds w slots for that shard, weight 0
// none) and sends a row to the shard owning slot key % total weight.
// shardRanges[i] is the end (exclusive) of shard i's slots, so the ranges
// need no table as large as the total weight.
type shardRanges []uint64

// newShardRanges returns the ranges of shards with these weights, or nil
// when the total weight is zero (ClickHouse refuses to insert then too).
func newShardRanges(weights []uint64) shardRanges {
	r := make(shardRanges, len(weights))
	var sum uint64
	for i, w := range weights {
		sum += w
		r[i] = sum
	}
	if sum == 0 {
		return nil
	}
	return r
}

// shard is the 0-based index of the shard that gets visitorID's rows.
func (r shardRanges) shard(visitorID uint64) int {
	slot := murmurHash3_64(visitorID) % r[len(r)-1]
	// Few shards: a linear scan beats a binary search.
	for i, end := range r {
		if slot < end {
			return i
		}
	}
	return len(r) - 1 // unreachable: slot < total
}
