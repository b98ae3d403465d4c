package swap

import "testing"

func TestObjectName(t *testing.T) {
	r := newRig(t, 4, 2048)
	si := r.devs[0]
	cases := []struct {
		obj  any
		want string
	}{
		{&r.c.swapLock, "swap_lock"},
		{&r.c.swapcacheWQ, "swapcache_wq"},
		{&r.c.pcp[1].lock, "percpu_swap_cluster[1].lock"},
		{&si.lock, "si0->lock"},
		{&si.users, "si0->users"},
		{&si.clusters[3].lock, "ci0[3]->lock"},
		{&r.c.info[0], "swap_info[0]"},
		{new(int), ""},
	}
	for _, c := range cases {
		if got := r.c.ObjectName(c.obj); got != c.want {
			t.Errorf("ObjectName(%T) = %q, want %q", c.obj, got, c.want)
		}
	}
}
