// Command pgxgrafana replays what Grafana's PostgreSQL data source does with its driver,
// github.com/jackc/pgx/v5: a pool (pgxpool), the health check (pool.Ping), and each query
// sent as Grafana's backend sends it (conn.PgConn().Exec, the simple protocol, every result
// read), its values decoded by column OID as Grafana's frame conversion decodes them.
//
// Usage: pgxgrafana CONNSTRING < steps.json, where steps.json is [{"name": ..., "sql": ...}]
// and a step named "ping" with no SQL is the health check. Prints one JSON document: per step
// its results (fields with OID and pgtype name, decoded rows, command tag) or its error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

type step struct {
	Name string `json:"name"`
	SQL  string `json:"sql"`
}

type field struct {
	Name string `json:"name"`
	OID  uint32 `json:"oid"`
	Type string `json:"type"`
}

type result struct {
	Fields []field `json:"fields"`
	Rows   [][]any `json:"rows"`
	Tag    string  `json:"tag"`
}

type failure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type outcome struct {
	Name    string   `json:"name"`
	Results []result `json:"results"`
	Error   *failure `json:"error,omitempty"`
}

func failureOf(err error) *failure {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return &failure{Code: pe.Code, Message: pe.Message}
	}
	return &failure{Code: "", Message: err.Error()}
}

// decode turns one text value into what Grafana's convertResultsToFrame makes of it.
func decode(m *pgtype.Map, fd pgconn.FieldDescription, raw []byte) (any, error) {
	if raw == nil {
		return nil, nil
	}
	switch fd.DataTypeOID {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		var d int64
		err := m.PlanScan(fd.DataTypeOID, fd.Format, &d).Scan(raw, &d)
		return d, err
	case pgtype.NumericOID, pgtype.Float8OID, pgtype.Float4OID:
		var d float64
		err := m.PlanScan(fd.DataTypeOID, fd.Format, &d).Scan(raw, &d)
		return d, err
	case pgtype.BoolOID:
		var d bool
		err := m.PlanScan(fd.DataTypeOID, fd.Format, &d).Scan(raw, &d)
		return d, err
	case pgtype.TimestampOID, pgtype.TimestamptzOID, pgtype.DateOID:
		var d time.Time
		err := m.PlanScan(fd.DataTypeOID, fd.Format, &d).Scan(raw, &d)
		return d.UTC().Format(time.RFC3339Nano), err
	default:
		var d string
		err := m.PlanScan(fd.DataTypeOID, fd.Format, &d).Scan(raw, &d)
		return d, err
	}
}

func run(ctx context.Context, pool *pgxpool.Pool, s step) outcome {
	out := outcome{Name: s.Name, Results: []result{}}
	if s.SQL == "" {
		if err := pool.Ping(ctx); err != nil {
			out.Error = failureOf(err)
		}
		return out
	}
	c, err := pool.Acquire(ctx)
	if err != nil {
		out.Error = failureOf(err)
		return out
	}
	defer c.Release()
	results, err := c.Conn().PgConn().Exec(ctx, s.SQL).ReadAll()
	if err != nil {
		out.Error = failureOf(err)
		return out
	}
	m := pgtype.NewMap()
	for _, r := range results {
		res := result{Fields: []field{}, Rows: [][]any{}, Tag: r.CommandTag.String()}
		for _, fd := range r.FieldDescriptions {
			// Grafana refuses a column whose OID pgx does not know ("unknown data type oid").
			t, ok := m.TypeForOID(fd.DataTypeOID)
			name := "UNKNOWN"
			if ok {
				name = t.Name
			}
			res.Fields = append(res.Fields, field{Name: fd.Name, OID: fd.DataTypeOID, Type: name})
		}
		for _, row := range r.Rows {
			vals := make([]any, len(row))
			for i, raw := range row {
				v, err := decode(m, r.FieldDescriptions[i], raw)
				if err != nil {
					out.Error = &failure{Message: fmt.Sprintf("column %s: %v", r.FieldDescriptions[i].Name, err)}
					return out
				}
				vals[i] = v
			}
			res.Rows = append(res.Rows, vals)
		}
		out.Results = append(out.Results, res)
	}
	return out
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pgxgrafana CONNSTRING < steps.json")
		os.Exit(2)
	}
	var steps []step
	if err := json.NewDecoder(os.Stdin).Decode(&steps); err != nil {
		fmt.Fprintln(os.Stderr, "pgxgrafana: steps:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgxgrafana: pool:", err)
		os.Exit(2)
	}
	defer pool.Close()
	outs := make([]outcome, 0, len(steps))
	for _, s := range steps {
		outs = append(outs, run(ctx, pool, s))
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(outs); err != nil {
		os.Exit(1)
	}
}
