package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// Template data. Messages and subjects are rendered by the senders; here
// they are executed once with sample values to check them.
type (
	codeTemplateData struct {
		Code, Spoken, Issuer string
		Minutes              int
	}
	webhookBodyData struct{ Channel, To, Message, Code, Subject string }
)

var (
	codeTemplateFields = []string{"Code", "Spoken", "Issuer", "Minutes"}
	webhookBodyFields  = []string{"Channel", "To", "Message", "Code", "Subject"}
	// webhookBodyFuncs are the functions a body may call, with the
	// signatures of the sender's own.
	webhookBodyFuncs = template.FuncMap{
		"json": func(s string) (string, error) {
			b, err := json.Marshal(s)
			return string(b), err
		},
		"urlquery": url.QueryEscape,
	}
)

// Bounds of rendered templates: a text message carries at most 1600
// characters (10 parts), and a body need not be larger than 64 KiB.
const (
	maxCodeText    = 1600
	maxWebhookBody = 64 << 10
)

// codeSample is the data the templates are tried with.
type codeSample = codeTemplateData

func newCodeSample(digits int, ttl time.Duration, issuer string) codeSample {
	digits = min(max(digits, minCodeDigits), maxCodeDigits)
	code := "48291637"[:digits]
	return codeSample{
		Code:    code,
		Spoken:  strings.Join(strings.Split(code, ""), ", "),
		Issuer:  issuer,
		Minutes: int(ttl / time.Minute),
	}
}

// shown reports whether out carries the code, as digits or spoken, plain
// or query-escaped.
func (s codeSample) shown(out string) bool {
	return strings.Contains(out, s.Code) || strings.Contains(out, s.Spoken) ||
		strings.Contains(out, url.QueryEscape(s.Spoken))
}

// renderTemplate parses text as a Go text/template, refuses references to
// fields of the data other than fields (in every branch, taken or not),
// and executes it with data, returning what it wrote if at most limit
// bytes. Loops and sub-templates are refused, so that executing takes time
// in proportion to the text.
func renderTemplate(name, text string, funcs template.FuncMap, fields []string, data any, limit int) (string, error) {
	t, err := template.New(name).Funcs(funcs).Parse(text)
	if err != nil {
		return "", err
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		if err := checkTemplateNode(tt.Tree.Root, fields); err != nil {
			return "", err
		}
	}
	out := &cappedWriter{limit: limit}
	if err := t.Execute(out, data); err != nil {
		return "", err
	}
	return out.String(), nil
}

// checkTemplateNode walks a template's tree for the fields of the data it
// uses ({{.X}}, {{$.X}}), and for range and {{template}}.
func checkTemplateNode(root parse.Node, fields []string) error {
	var err error
	fail := func(format string, args ...any) {
		if err == nil {
			err = fmt.Errorf(format, args...)
		}
	}
	use := func(field string) {
		if !slices.Contains(fields, field) {
			fail("uses {{.%s}}: only .%s are known", field, strings.Join(fields, ", ."))
		}
	}
	var walk func(parse.Node)
	branch := func(b *parse.BranchNode) { walk(b.Pipe); walk(b.List); walk(b.ElseList) }
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			for _, c := range nilSafe(n).Nodes {
				walk(c)
			}
		case *parse.PipeNode:
			for _, c := range nilSafe(n).Cmds {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.TemplateNode:
			fail("uses {{template}} or {{block}}: write the text out")
		case *parse.IfNode:
			branch(&n.BranchNode)
		case *parse.WithNode:
			branch(&n.BranchNode)
		case *parse.RangeNode:
			fail("uses range, but there is nothing to loop over")
		case *parse.FieldNode:
			use(n.Ident[0])
		case *parse.VariableNode:
			if n.Ident[0] == "$" && len(n.Ident) > 1 {
				use(n.Ident[1])
			}
		}
	}
	walk(root)
	return err
}

// nilSafe turns a nil node pointer into an empty node.
func nilSafe[T any](n *T) *T {
	if n == nil {
		return new(T)
	}
	return n
}

// cappedWriter keeps what is written up to limit bytes, and fails past it.
type cappedWriter struct {
	b     strings.Builder
	limit int
}

func (w *cappedWriter) Write(b []byte) (int, error) {
	if w.b.Len()+len(b) > w.limit {
		return 0, fmt.Errorf("renders to more than %d bytes", w.limit)
	}
	return w.b.Write(b)
}

func (w *cappedWriter) String() string { return w.b.String() }
