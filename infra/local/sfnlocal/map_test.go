package sfnlocal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sfnlocal"
)

// mapSpec builds a machine: a Map "M" over $.items whose ItemProcessor starts
// at the Task "Work" (Resource "fn"), plus optional extra states.
type mapSpec struct {
	limit    int
	work     string // extra fields of Work
	inner    string // extra inner states, each preceded by a comma
	mapExtra string // extra fields of M
	outer    string // extra top-level states, each preceded by a comma
}

func (s mapSpec) def() string {
	return fmt.Sprintf(`{"StartAt":"M","States":{
		"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":%d,%s
			"ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"Work","States":{
				"Work":{"Type":"Task","Resource":"fn",%s"End":true}%s}},
			"End":true}%s}}`, s.limit, s.mapExtra, s.work, s.inner, s.outer)
}

func TestMapMaxConcurrency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		limit int
		items int
		want  int // max in flight
	}{
		{name: "bound 1 runs items one at a time", limit: 1, items: 5, want: 1},
		{name: "bound 3 of 10", limit: 3, items: 10, want: 3},
		{name: "bound above the item count", limit: 8, items: 4, want: 4},
		{name: "0 is unbounded", limit: 0, items: 12, want: 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var inFlight, maxInFlight atomic.Int32
			arrived := make(chan struct{}, tt.items)
			release := make(chan struct{})
			fn := func(_ context.Context, payload []byte) ([]byte, error) {
				n := inFlight.Add(1)
				for {
					m := maxInFlight.Load()
					if n <= m || maxInFlight.CompareAndSwap(m, n) {
						break
					}
				}
				arrived <- struct{}{}
				<-release
				inFlight.Add(-1)
				return payload, nil
			}
			m := load(t, mapSpec{limit: tt.limit}.def(), map[string]sfnlocal.Invoker{"fn": fn})
			items := make([]int, tt.items)
			for i := range items {
				items[i] = i
			}
			done := make(chan error, 1)
			var out []byte
			go func() {
				var err error
				out, err = m.Execute(context.Background(), "", []byte(mustJSON(t, map[string]any{"items": items})))
				done <- err
			}()
			// Release one item at a time, each time first waiting until the
			// pool is as full as the bound allows (so it always reaches
			// `want`), then yielding so that any iteration started beyond the
			// bound gets to run and be counted before the next release.
			received := 0
			for released := range tt.items {
				for received < released+min(tt.want, tt.items-released) {
					<-arrived
					received++
				}
				for range 50 {
					runtime.Gosched()
				}
				release <- struct{}{}
			}
			require.NoError(t, <-done)
			require.Equal(t, int32(tt.want), maxInFlight.Load())
			require.JSONEq(t, mustJSON(t, items), string(out))
		})
	}
}

func TestMapResultsInItemOrder(t *testing.T) {
	t.Parallel()
	const n = 6
	// Item i may finish only after item i+1 has: completion order is reversed.
	finished := make([]chan struct{}, n+1)
	for i := range finished {
		finished[i] = make(chan struct{})
	}
	close(finished[n])
	var (
		mu    sync.Mutex
		order []int
	)
	fn := func(_ context.Context, payload []byte) ([]byte, error) {
		var in struct{ Index int }
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, err
		}
		<-finished[in.Index+1]
		mu.Lock()
		order = append(order, in.Index)
		mu.Unlock()
		close(finished[in.Index])
		return []byte(`"done-` + strconv.Itoa(in.Index) + `"`), nil
	}
	def := mapSpec{mapExtra: `"ItemSelector":{"Index.$":"$$.Map.Item.Index","Value.$":"$$.Map.Item.Value"},`}.def()
	m := load(t, def, map[string]sfnlocal.Invoker{"fn": fn})
	out, err := m.Execute(context.Background(), "", []byte(`{"shared":1,"items":["a","b","c","d","e","f"]}`))
	require.NoError(t, err)
	require.Equal(t, []int{5, 4, 3, 2, 1, 0}, order)
	require.JSONEq(t, `["done-0","done-1","done-2","done-3","done-4","done-5"]`, string(out))
}

func TestMapItemSelectorAndResultHandling(t *testing.T) {
	t.Parallel()
	def := mapSpec{limit: 2, mapExtra: `"ItemSelector":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value","gen.$":"$.gen","state.$":"$$.State.Name","k":"lit"},
		"ResultSelector":{"all.$":"$","first.$":"$[0].v"},"ResultPath":"$.out",`}.def()
	m := load(t, def, map[string]sfnlocal.Invoker{"fn": echo})
	out, err := m.Execute(context.Background(), "", []byte(`{"gen":"g1","items":[{"x":1},"two"]}`))
	require.NoError(t, err)
	require.JSONEq(t, `{"gen":"g1","items":[{"x":1},"two"],"out":{
		"all":[{"i":0,"v":{"x":1},"gen":"g1","state":"M","k":"lit"},{"i":1,"v":"two","gen":"g1","state":"M","k":"lit"}],
		"first":{"x":1}}}`, string(out))
}

func TestMapFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		workExtra string
		inner     string
		mapExtra  string
		wantOut   string
		wantErr   string
		cancelled bool // the other iterations saw their context cancelled
	}{
		{
			name:      "an uncaught item error fails the Map and cancels the others",
			wantErr:   "ProviderThrottled",
			cancelled: true,
		},
		{
			name:      "the Map's own Catch sees the item error",
			mapExtra:  `"Catch":[{"ErrorEquals":["ProviderThrottled"],"ResultPath":"$.mapError","Next":"After"}],`,
			wantOut:   `{"items":[0,1,2,3],"mapError":{"Error":"ProviderThrottled","Cause":"{\"errorMessage\":\"item 2\",\"errorType\":\"ProviderThrottled\"}"}}`,
			cancelled: true,
		},
		{
			name:      "a Catch inside the iteration lets the Map go on",
			workExtra: `"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"MarkFailed"}],`,
			inner:     `,"MarkFailed":{"Type":"Pass","Parameters":{"failed.$":"$.error.Error","item.$":"$.item"},"End":true}`,
			wantOut:   `[{"item":0},{"item":1},{"failed":"ProviderThrottled","item":2},{"item":3}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cancelled atomic.Int32
			started := make(chan struct{}, 4)
			fn := func(ctx context.Context, payload []byte) ([]byte, error) {
				var in struct{ Item int }
				if err := json.Unmarshal(payload, &in); err != nil {
					return nil, err
				}
				if in.Item == 2 {
					// Fail only once the others are running, so cancellation is observable.
					for range 3 {
						<-started
					}
					return nil, &ProviderThrottled{Message: "item 2"}
				}
				started <- struct{}{}
				if tt.cancelled {
					<-ctx.Done()
					cancelled.Add(1)
					return nil, ctx.Err()
				}
				return payload, nil
			}
			spec := mapSpec{work: tt.workExtra, inner: tt.inner, mapExtra: `"ItemSelector":{"item.$":"$$.Map.Item.Value"},` + tt.mapExtra}
			if tt.mapExtra != "" {
				spec.outer = `,"After":{"Type":"Pass","End":true}`
			}
			def := spec.def()
			rec := &recorder{}
			m := load(t, def, map[string]sfnlocal.Invoker{"fn": fn}, rec.options()...)
			// A deadline turns a missing cancellation into a failure, not a hang.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := m.Execute(ctx, "", []byte(`{"items":[0,1,2,3]}`))
			if tt.cancelled {
				require.Equal(t, int32(3), cancelled.Load())
			}
			if requireOutcome(t, out, err, tt.wantErr, tt.wantOut) {
				require.Equal(t, []string{"M"}, rec.visited(sfnlocal.StateFailed))
				return
			}
		})
	}
}

func TestMapItemsMustBeAnArray(t *testing.T) {
	t.Parallel()
	spec := mapSpec{mapExtra: `"Catch":[{"ErrorEquals":["States.ALL"],"Next":"After"}],`, outer: `,"After":{"Type":"Pass","End":true}`}
	m := load(t, spec.def(), map[string]sfnlocal.Invoker{"fn": echo})
	_, err := m.Execute(context.Background(), "", []byte(`{"items":{"not":"array"}}`))
	requireExecErr(t, err, sfnlocal.ErrRuntime)
}

func TestMapEmpty(t *testing.T) {
	t.Parallel()
	m := load(t, mapSpec{limit: 3}.def(), map[string]sfnlocal.Invoker{"fn": echo})
	out, err := m.Execute(context.Background(), "", []byte(`{"items":[]}`))
	require.NoError(t, err)
	require.JSONEq(t, `[]`, string(out))
}
