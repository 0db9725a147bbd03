package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/kelseyhightower/envconfig"
	"go.opentelemetry.io/otel/trace"
)

// logEnv is how an operator shapes the logs. JSON by default: a log shipper reads each line
// as a record with fields, and an id is a field to search for, not a word in a sentence.
type logEnv struct {
	Format string `envconfig:"LOG_FORMAT" default:"json"`
	Level  string `envconfig:"LOG_LEVEL"`
}

// LoggerFromEnv builds the process's logger from LOG_FORMAT (json or text) and LOG_LEVEL
// (debug, info, warn, error; defaultLevel when unset: info for the worker and the API,
// warn for the command line, whose output is its answers).
func LoggerFromEnv(w io.Writer, defaultLevel slog.Level) (*slog.Logger, error) {
	var env logEnv
	if err := envconfig.Process("", &env); err != nil {
		return nil, err
	}
	level := defaultLevel
	if env.Level != "" {
		if err := level.UnmarshalText([]byte(env.Level)); err != nil {
			return nil, fmt.Errorf("LOG_LEVEL: %q is not a level; use debug, info, warn or error", env.Level)
		}
	}
	return NewLogger(w, env.Format, level)
}

// NewLogger writes records as JSON lines ("json") or key=value text ("text") at level and
// above. Every record is redacted (CPR numbers, e-mail addresses, mobile numbers) and, when
// its context holds a span, carries trace_id and span_id, so a log line leads to its trace.
func NewLogger(w io.Writer, format string, level slog.Leveler) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "json", "":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("LOG_FORMAT: %q is not a format; use json or text", format)
	}
	return slog.New(logHandler{next: h}), nil
}

// logHandler redacts and adds the trace to records on their way to next.
type logHandler struct{ next slog.Handler }

func (h logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		out.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.next.Handle(ctx, out)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = redactAttr(a)
	}
	return logHandler{next: h.next.WithAttrs(clean)}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{next: h.next.WithGroup(name)}
}

// redactAttr redacts strings, errors and what prints as a string; other values (numbers,
// times, ids) pass as they are.
func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Redact(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = redactAttr(g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, Redact(x.Error()))
		case fmt.Stringer:
			if s := x.String(); Redact(s) != s {
				return slog.String(a.Key, Redact(s))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
