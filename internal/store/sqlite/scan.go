package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/pulse-dev/pulse/internal/store"
)

// ScanEvents reads the events of one type over a time range through the
// events_type_time index, in time order.
func (d *DB) ScanEvents(ctx context.Context, q store.ScanQuery, fn func(*store.ScanRow) error) error {
	if err := d.usable(); err != nil {
		return err
	}
	cols := []string{"user_id", "timestamp"}
	args := make([]any, 0, len(q.Fields)+3)
	for _, f := range q.Fields {
		if err := store.CheckField(f); err != nil {
			return err
		}
		if k, ok := strings.CutPrefix(f, store.PropertyPrefix); ok {
			// "->" gives the value's JSON text; the key is quoted in the
			// path so that no character of it reads as path syntax.
			cols = append(cols, `properties -> ?`)
			args = append(args, `$."`+k+`"`)
			continue
		}
		cols = append(cols, f) // one of store.ScanFields
	}
	args = append(args, q.EventType, micros(q.From), micros(q.To))
	where := ""
	if len(q.Where) > 0 {
		if err := store.CheckWhere(q.Where); err != nil {
			return err
		}
		var cond string
		cond, args = store.WhereSQL(q.Where, args, func(args []any, values []string) (string, []any) {
			for _, v := range values {
				args = append(args, v)
			}
			return "IN (?" + strings.Repeat(", ?", len(values)-1) + ")", args
		})
		where = " AND " + cond
	}
	rows, err := d.r.QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM events INDEXED BY events_type_time
		WHERE event_type = ? AND timestamp >= ? AND timestamp < ?`+where+` ORDER BY timestamp`, args...)
	if err != nil {
		return d.fail("scan events", err)
	}
	defer rows.Close()
	row := store.ScanRow{Values: make([]string, len(q.Fields))}
	raw := make([]sql.RawBytes, len(q.Fields))
	dest := make([]any, 0, len(cols))
	dest = append(dest, &row.UserID, &row.Micros)
	for i := range raw {
		dest = append(dest, &raw[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return d.fail("scan events", err)
		}
		for i, f := range q.Fields {
			if strings.HasPrefix(f, store.PropertyPrefix) {
				row.Values[i] = store.PropertyText(raw[i])
			} else {
				row.Values[i] = string(raw[i])
			}
		}
		if err := fn(&row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return d.fail("scan events", err)
	}
	return nil
}
