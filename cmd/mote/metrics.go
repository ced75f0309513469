package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mote-analytics/mote/collector"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/spool"
	"github.com/mote-analytics/mote/storage/stats"
)

// statsCollector exports the packages' own atomic counters at scrape time.
// collector and storage keep plain counters and know nothing of
// Prometheus; this is the one place that names the metrics.
type statsCollector struct {
	col       *collector.Server
	spool     *spool.Spool
	store     *storage.Link
	vis       *visits
	summaries *stats.Summarizer

	received, accepted, rejected, suppressed          *prometheus.Desc
	sanitized                                         *prometheus.Desc
	spoolBytes, spoolSegments, spoolFull, spoolFsyncs *prometheus.Desc
	spoolNoSpace                                      *prometheus.Desc
	stored, batches, insertErrors, lastBatch, insertS *prometheus.Desc
	sessionsActive, sessionsEvicted, sessionsExpired  *prometheus.Desc
	sessionRowsStored, sessionRowsSkipped             *prometheus.Desc
	rebuildSeconds, rebuildRestored                   *prometheus.Desc
	summaryPending, summaryBuilt                      *prometheus.Desc
	dayPairs                                          *prometheus.Desc
}

func newStatsCollector(p *pipeline) *statsCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("mote_"+name, help, labels, nil)
	}
	return &statsCollector{
		col: p.collector, spool: p.spool, store: p.store, vis: p.visits, summaries: p.summaries,
		received:           d("hits_received_total", "Requests read by the beacon listener."),
		accepted:           d("hits_accepted_total", "Hits made durable in the spool and answered."),
		rejected:           d("hits_rejected_total", "Requests that stored nothing, by reason.", "reason"),
		suppressed:         d("hits_suppressed_total", "Hits of known sites the privacy gate did not store, by reason.", "reason"),
		sanitized:          d("hits_sanitized_total", "Beacons whose strings were cleaned before going on, by reason (control_chars: control characters removed from the event name or props).", "reason"),
		spoolBytes:         d("spool_pending_bytes", "Spool bytes not yet stored in ClickHouse."),
		spoolSegments:      d("spool_segments", "Spool segment files on disk."),
		spoolFull:          d("spool_full_rejections_total", "Hits refused because the spool was at its cap."),
		spoolFsyncs:        d("spool_fsyncs_total", "Group commits (fsyncs) of the spool."),
		spoolNoSpace:       d("spool_no_space_total", "Hits refused because the spool's disk was full."),
		stored:             d("rows_stored_total", "Rows ClickHouse accepted."),
		batches:            d("batches_total", "Batches ClickHouse accepted."),
		insertErrors:       d("clickhouse_errors_total", "Failed ClickHouse inserts and checks (retried)."),
		lastBatch:          d("batch_last_rows", "Rows in the last batch stored."),
		insertS:            d("batch_insert_seconds_total", "Time spent in ClickHouse inserts; divide by mote_batches_total for the mean latency."),
		sessionsActive:     d("sessions_active", "Visits held in the session cache."),
		sessionsEvicted:    d("sessions_evicted_total", "Visits dropped from the full session cache (a later hit starts a new visit)."),
		sessionsExpired:    d("sessions_expired_total", "Visits ended by 30 minutes of inactivity."),
		sessionRowsStored:  d("session_rows_stored_total", "Sessions rows ClickHouse accepted (they travel in the spool with their hits)."),
		sessionRowsSkipped: d("session_rows_replay_skipped_total", "Sessions rows found already stored when a batch was replayed."),
		rebuildSeconds:     d("sessions_rebuild_seconds", "How long the session cache's rebuild took at start."),
		rebuildRestored:    d("sessions_rebuild_rows", "Visit states restored into the session cache at start."),
		summaryPending:     d("summary_days_pending", "Finished site days whose summary is missing or stale at the latest pass (cards read their raw rows meanwhile)."),
		summaryBuilt:       d("summary_days_built_total", "Day summaries built since the start."),
		dayPairs:           d("day_count_pairs", "(visitor, value) pairs the Batcher holds to count the visitors of the days around now (23-29 bytes each)."),
	}
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	cs := c.col.Counters()
	counter(c.received, float64(cs.Received))
	counter(c.accepted, float64(cs.Accepted))
	for reason, n := range cs.Reasons() {
		counter(c.rejected, float64(n), reason)
	}
	counter(c.sanitized, float64(cs.ControlChars), "control_chars")
	for reason, n := range cs.SuppressedBy() {
		counter(c.suppressed, float64(n), reason)
	}
	ss := c.spool.Counters()
	gauge(c.spoolBytes, float64(ss.PendingBytes))
	gauge(c.spoolSegments, float64(ss.Segments))
	counter(c.spoolFull, float64(ss.FullRejections))
	counter(c.spoolFsyncs, float64(ss.Fsyncs))
	counter(c.spoolNoSpace, float64(ss.NoSpace))
	bs := c.store.BatcherCounters()
	counter(c.stored, float64(bs.RowsStored))
	counter(c.batches, float64(bs.Batches))
	counter(c.insertErrors, float64(bs.InsertErrors))
	gauge(c.lastBatch, float64(bs.LastBatchRows))
	counter(c.insertS, bs.InsertSeconds)
	gauge(c.dayPairs, float64(bs.DayPairs))
	vs := c.vis.sessions.Counters()
	gauge(c.sessionsActive, float64(vs.Active))
	counter(c.sessionsEvicted, float64(vs.Evicted))
	counter(c.sessionsExpired, float64(vs.Expired))
	counter(c.sessionRowsStored, float64(bs.SessionRows))
	counter(c.sessionRowsSkipped, float64(bs.SessionSkips))
	gauge(c.rebuildSeconds, c.vis.rebuildSeconds)
	gauge(c.rebuildRestored, float64(c.vis.restored))
	sp := c.summaries.Progress()
	gauge(c.summaryPending, float64(sp.Pending))
	counter(c.summaryBuilt, float64(sp.Built))
}

// metricsHandler serves Mote's metrics plus the Go runtime's and the
// process's (RSS, open files), which the soak test watches.
func metricsHandler(p *pipeline) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		newStatsCollector(p),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
