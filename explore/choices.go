package explore

import (
	"fmt"
	"strconv"
	"strings"
)

// EncodeChoices writes a run's choices (sched.Result.Choices) compactly:
// runs of the same task id, separated by dots, each the id in base 36
// followed by "*" and the run's length in base 36 when it is longer than
// one. For example [0 0 0 1 2 2] is "0*3.1.2*2".
func EncodeChoices(choices []int) string {
	var b strings.Builder
	for i := 0; i < len(choices); {
		j := i
		for j < len(choices) && choices[j] == choices[i] {
			j++
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatInt(int64(choices[i]), 36))
		if n := j - i; n > 1 {
			b.WriteByte('*')
			b.WriteString(strconv.FormatInt(int64(n), 36))
		}
		i = j
	}
	return b.String()
}

// DecodeChoices is the inverse of EncodeChoices.
func DecodeChoices(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, tok := range strings.Split(s, ".") {
		id, count := tok, "1"
		if i := strings.IndexByte(tok, '*'); i >= 0 {
			id, count = tok[:i], tok[i+1:]
		}
		v, err := strconv.ParseInt(id, 36, 32)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("bad choice list: task %q in %q", id, tok)
		}
		n, err := strconv.ParseInt(count, 36, 32)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad choice list: count %q in %q", count, tok)
		}
		if len(out)+int(n) > 1<<24 {
			return nil, fmt.Errorf("bad choice list: more than %d choices", 1<<24)
		}
		for ; n > 0; n-- {
			out = append(out, int(v))
		}
	}
	return out, nil
}
