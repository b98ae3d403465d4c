package main

import "testing"

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"65536", 65536, true},
		{"64K", 64 << 10, true},
		{"64M", 64 << 20, true},
		{"64m", 64 << 20, true},
		{"1G", 1 << 30, true},
		{"1GiB", 1 << 30, true},
		{"2MB", 2 << 20, true},
		{"4096B", 4096, true},
		{"1T", 1 << 40, true},
		{"", 0, false},
		{"M", 0, false},
		{"-5M", 0, false},
		{"1.5G", 0, false},
		{"12X", 0, false},
		{"99999999999T", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
