package cgroupmgr

import (
	"context"
	"testing"
)

func BenchmarkFreezeThaw(b *testing.B) {
	for _, l := range layouts {
		b.Run(l.name, func(b *testing.B) {
			f := l.newFixture(b)
			f.start(b, "", "sleep 1000")
			f.waitProcs(b, 1)
			ctx := context.Background()
			for b.Loop() {
				if err := f.m.Freeze(ctx, f.path); err != nil {
					b.Fatal(err)
				}
				if err := f.m.Thaw(ctx, f.path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
