package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// queryPlan returns the EXPLAIN QUERY PLAN details of query, one per line.
func queryPlan(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.read.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", query, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestQueryPlans checks that the listing queries search an index whose
// order is the ORDER BY, so they read LIMIT rows whatever the table size:
// no full scan, no temporary b-tree for sorting.
func TestQueryPlans(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "plan.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name  string
		query string
		args  []any
		want  []string // substrings the plan must contain
		deny  []string // substrings it must not contain
	}{
		{"latest of a section", latestSectionQuery, []any{"politics", 1, 50},
			[]string{"SEARCH a USING INDEX articles_section_published (section=? AND published_at<?)"},
			[]string{"SCAN", "TEMP B-TREE"}},
		{"latest overall", latestQuery, []any{1, 50},
			[]string{"SEARCH a USING INDEX articles_published (published_at<?)"},
			[]string{"SCAN", "TEMP B-TREE"}},
		{"top stories", topQuery, []any{1, 50},
			[]string{"SEARCH a USING INDEX articles_top_published (published_at<?)"},
			[]string{"SCAN", "TEMP B-TREE"}},
		// Ranking by a sum needs a sort of the window's articles; what
		// matters is that only the window's buckets are read (a covering
		// index range) and articles are fetched by key.
		{"most read", mostReadQuery, []any{0, 1, 1, 10},
			[]string{"SEARCH article_views USING COVERING INDEX article_views_hour (hour>? AND hour<?)",
				"SEARCH a USING INTEGER PRIMARY KEY (rowid=?)"},
			[]string{"SCAN a", "SCAN articles", "SCAN article_views"}},
		{"articles between", betweenQuery, []any{0, 1},
			[]string{"SEARCH a USING INDEX articles_published (published_at>? AND published_at<?)"},
			[]string{"SCAN a"}},
		// The ledger's claims read only the due range of one edition's
		// covering index, already in order.
		{"claim queued deliveries", claimQueuedQuery, []any{1, 1, 50},
			[]string{"SEARCH deliveries USING COVERING INDEX deliveries_claim (edition_id=? AND state=? AND due_at<?)"},
			[]string{"SCAN", "TEMP B-TREE"}},
		{"claim deferred deliveries", claimDeferredQuery, []any{1, 1, 50},
			[]string{"SEARCH deliveries USING COVERING INDEX deliveries_retry (edition_id=? AND state=? AND next_attempt_at<?)"},
			[]string{"SCAN", "TEMP B-TREE"}},
		{"delivery counts of an edition", `SELECT state, count(*) FROM deliveries WHERE edition_id = ? GROUP BY state`, []any{1},
			[]string{"USING COVERING INDEX"}, []string{"SCAN"}},
		{"article by id", `SELECT ` + articleCols + ` FROM articles a WHERE a.id = ?`, []any{"x"},
			[]string{"SEARCH a USING INDEX sqlite_autoindex_articles_1 (id=?)"}, []string{"SCAN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := queryPlan(t, db, tc.query, tc.args...)
			t.Logf("plan:\n%s", plan)
			for _, w := range tc.want {
				if !strings.Contains(plan, w) {
					t.Errorf("plan lacks %q:\n%s", w, plan)
				}
			}
			for _, d := range tc.deny {
				if strings.Contains(plan, d) {
					t.Errorf("plan has %q:\n%s", d, plan)
				}
			}
		})
	}
}
