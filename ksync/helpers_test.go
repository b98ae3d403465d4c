package ksync

// lockOps are the operations of one lock, whatever its kind.
type lockOps struct {
	lock, unlock func(*Task)
	trylock      func(*Task) bool
	assertHeld   func(*Task) // AssertHeld, AssertWriteHeld or AssertBitHeld, as the kind has it
}

// lockKind makes a lock of one kind with a rank.
type lockKind struct {
	name string
	make func(r Rank) lockOps
}

func lockKinds() []lockKind {
	return []lockKind{
		{"Mutex", func(r Rank) lockOps {
			m := new(Mutex)
			m.Init(r)
			return lockOps{m.Lock, m.Unlock, m.TryLock, m.AssertHeld}
		}},
		{"SpinLock", func(r Rank) lockOps {
			s := new(SpinLock)
			s.Init(r)
			return lockOps{s.Lock, s.Unlock, s.TryLock, s.AssertHeld}
		}},
		{"RWSem write", func(r Rank) lockOps {
			s := new(RWSem)
			s.Init(r)
			return lockOps{s.Lock, s.Unlock, s.TryLock, s.AssertWriteHeld}
		}},
		{"RWSem read", func(r Rank) lockOps {
			s := new(RWSem)
			s.Init(r)
			return lockOps{s.RLock, s.RUnlock, s.TryRLock, s.AssertHeld}
		}},
		{"bit lock", func(r Rank) lockOps {
			f := new(Flags)
			f.InitRank(r)
			return lockOps{func(t *Task) { f.LockBit(t, 0) }, func(t *Task) { f.UnlockBit(t, 0) },
				func(t *Task) bool { return f.TryLockBit(t, 0) }, func(t *Task) { f.AssertBitHeld(t, 0) }}
		}},
	}
}
