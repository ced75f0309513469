package dashboards

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// writeCSV answers a CSV download named name.csv. Cells that a
// spreadsheet would run as a formula (a page path or campaign name is
// visitor-controlled text) get a leading quote.
func writeCSV(w http.ResponseWriter, name string, header []string, rows [][]any) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", strings.ReplaceAll(name, ":", "-")+".csv"))
	cw := csv.NewWriter(w)
	_ = cw.Write(header)
	rec := make([]string, 0, len(header))
	for _, row := range rows {
		rec = rec[:0]
		for _, v := range row {
			s := ""
			if v != nil {
				s = fmt.Sprint(v)
			}
			if _, ok := v.(string); ok && s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
				s = "'" + s
			}
			rec = append(rec, s)
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
}
