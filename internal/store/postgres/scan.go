package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// ScanEvents reads the events of one type over a time range through the
// events_type_time index, in time order.
func (d *DB) ScanEvents(ctx context.Context, q store.ScanQuery, fn func(*store.ScanRow) error) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	// The whole properties come back for the rows whose properties "->"
	// cannot read (undecodableSQL), only then: Go reads their values.
	cols := []string{"user_id", `"timestamp"`, `NULL::text`}
	args := []any{q.EventType, q.From, q.To}
	for _, f := range q.Fields {
		if err := store.CheckField(f); err != nil {
			return err
		}
		if k, ok := strings.CutPrefix(f, store.PropertyPrefix); ok {
			// "->" gives the value's JSON text, as written.
			args = append(args, k)
			cols = append(cols, fmt.Sprintf(`CASE WHEN properties::text ~ `+undecodableSQL+` THEN NULL
				ELSE properties -> $%d::text END`, len(args)))
			cols[2] = `CASE WHEN properties::text ~ ` + undecodableSQL + ` THEN properties::text END`
			continue
		}
		cols = append(cols, f) // one of store.ScanFields
	}
	where := ""
	if len(q.Where) > 0 {
		if err := store.CheckWhere(q.Where); err != nil {
			return err
		}
		var cond string
		cond, args = store.WhereSQL(q.Where, args, func(args []any, values []string) (string, []any) {
			args = append(args, values)
			return fmt.Sprintf("= ANY($%d::text[])", len(args)), args
		})
		where = " AND " + cond
	}
	rows, err := d.pool.Query(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM events
		WHERE event_type = $1 AND "timestamp" >= $2 AND "timestamp" < $3`+where+` ORDER BY "timestamp"`, args...)
	if err != nil {
		return d.fail("scan events", err)
	}
	row := store.ScanRow{Values: make([]string, len(q.Fields))}
	raw := make([][]byte, len(q.Fields))
	var (
		ts    time.Time
		props []byte
	)
	dest := make([]any, 0, len(cols))
	dest = append(dest, &row.UserID, &ts, &props)
	for i := range raw {
		dest = append(dest, &raw[i])
	}
	_, err = pgx.ForEachRow(rows, dest, func() error {
		row.Micros = ts.UnixMicro()
		for i, f := range q.Fields {
			if k, ok := strings.CutPrefix(f, store.PropertyPrefix); ok {
				if props != nil {
					raw[i] = store.PropertyOf(props, k)
				}
				row.Values[i] = store.PropertyText(raw[i])
			} else {
				row.Values[i] = string(raw[i])
			}
		}
		return fn(&row)
	})
	if err != nil {
		return d.fail("scan events", err)
	}
	return nil
}
