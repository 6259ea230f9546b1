package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	xdraw "golang.org/x/image/draw"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/generation"
)

// ScreenshotEnv names the PNG TestDashboardInABrowser writes of the whole
// page (`make dashboard-screenshot` sets it to docs/dashboard.png).
const ScreenshotEnv = "DASHBOARD_SCREENSHOT"

// TestDashboardInABrowser opens /dashboard in a real headless Chromium over
// a database seeded by real generations: every section renders data with no
// console error, an approval in the review queue changes the statistics,
// and a non-operator gets 403. `make test` installs Debian's chromium when
// it is missing; the test never skips.
func TestDashboardInABrowser(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.Load(func(string) string { return "" })
	require.NoError(t, err)
	s, err := stack.Start(ctx, stack.Options{DatabaseURL: pgtest.NewURL(t), Config: cfg, FeedbackPoll: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close(context.Background()) })
	api := httptest.NewServer(s.API(true).Handler())
	t.Cleanup(api.Close)
	seedDashboard(t, s, api.URL)

	chromium, err := exec.LookPath("chromium")
	require.NoError(t, err, "Debian's chromium is not installed: `make test` installs it (apt-get install chromium)")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)

	// A non-operator's browser gets the 403 JSON error, not the page.
	browser, cancel := browserAs(t, alloc, "demo-designer", nil)
	require.NoError(t, chromedp.Do(browser, chromedp.Navigate(api.URL+"/dashboard")))
	status, err := chromedp.Run(browser, chromedp.Evaluate[int](`performance.getEntriesByType("navigation")[0].responseStatus`))
	require.NoError(t, err)
	body, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS("body")))
	require.NoError(t, err)
	cancel()
	require.Equal(t, http.StatusForbidden, status)
	require.Contains(t, body, `"code":"forbidden"`)

	var problems []string
	var mu sync.Mutex
	browser, cancel = browserAs(t, alloc, "operator", func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				problems = append(problems, fmt.Sprintf("console.%s: %v", ev.Type, ev.Args))
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				problems = append(problems, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	})
	defer cancel()
	_, err = chromedp.Call(browser, log.Enable, cdp.Empty{})
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(browser,
		chromedp.Navigate(api.URL+"/dashboard?refresh=1"),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-loads]`))))

	rows := func() map[string]int {
		out, err := chromedp.Run(browser, chromedp.Evaluate[map[string]string](
			`Object.fromEntries([...document.querySelectorAll("main > section")].map(s => [s.id.slice(8), s.dataset.rows]))`))
		require.NoError(t, err)
		n := map[string]int{}
		for k, v := range out {
			n[k], _ = strconv.Atoi(v)
		}
		return n
	}
	before := rows()
	for _, section := range append(generation.MonitoringSections, "reviews") {
		require.Positive(t, before[section], "section %s renders no data", section)
	}
	charts, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll("svg[data-chart] rect, svg[data-chart] polyline").length`))
	require.NoError(t, err)
	require.Positive(t, charts, "the charts draw something")
	// The page re-renders its sections every second: read and click in one
	// script, so that no node can be replaced between finding and using it.
	text := func(selector string) string {
		v, err := chromedp.Run(browser, chromedp.Evaluate[string](
			`(document.querySelector(`+strconv.Quote(selector)+`)?.innerText ?? "").trim()`))
		require.NoError(t, err)
		return v
	}
	approved := func() string { return text(`table[data-table="reviews"] tbody td:nth-child(2)`) }
	require.Equal(t, "0", approved())

	if path := os.Getenv(ScreenshotEnv); path != "" {
		writeScreenshot(t, browser, path)
	}

	// Approve the first flagged image: it leaves the queue, the summary's
	// count drops, and the learning section counts the approval.
	// The decision reaches the learner through the queue, so the page
	// (refreshing every second here) shows it within a few refreshes.
	clicked, err := chromedp.Run(browser, chromedp.Evaluate[bool](
		`(b => b ? (b.click(), true) : false)(document.querySelector("#section-reviews .review button.approve"))`))
	require.NoError(t, err)
	require.True(t, clicked, "no approve button in the review queue")
	require.Eventually(t, func() bool {
		return rows()["reviews"] == before["reviews"]-1 && approved() == "1"
	}, 30*time.Second, 100*time.Millisecond, "the approval never showed in the statistics")
	require.Equal(t, strconv.Itoa(before["reviews"]-1), text(`table[data-table="summary"] tbody tr td:last-child`))

	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, problems, "the page logged errors")
}

// browserAs is a tab whose every request carries the local identity user,
// with listen (if any) receiving its events.
func browserAs(t *testing.T, alloc context.Context, user string, listen func(any)) (context.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	if listen != nil {
		require.NoError(t, chromedp.Listen(ctx, listen))
	}
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	_, err = chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": "Bearer " + user}})
	require.NoError(t, err)
	return ctx, func() { cancelTimeout(); cancel() }
}

// seedDashboard runs real generations through the API (different counts,
// buffers and prompts, so discards and top-ups happen) and has their owner
// rate one delivered image 1, which puts it in the review queue.
func seedDashboard(t *testing.T, s *stack.Stack, baseURL string) {
	t.Helper()
	ctx := context.Background()
	reference, err := stack.DemoReference(ctx)
	require.NoError(t, err)
	call := func(method, path string, body any) map[string]any {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		req, err := http.NewRequest(method, baseURL+path, bytes.NewReader(b))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer demo-designer")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		require.Less(t, resp.StatusCode, 300, "%s %s: %v", method, path, out)
		return out
	}
	var ids []string
	for _, settings := range []map[string]any{
		{"count": 4, "prompt": "linen summer dress, studio product photo"},
		{"count": 4, "prompt": "denim jacket, street style", "bufferPercent": 0},
		{"count": 1, "prompt": "silk scarf, flat lay"},
		{"count": 6, "prompt": "wool overcoat, editorial", "bufferPercent": 50},
	} {
		out := call(http.MethodPost, "/v1/generations", map[string]any{
			"image": base64.StdEncoding.EncodeToString(reference), "settings": settings})
		ids = append(ids, out["id"].(string))
	}
	var rated string
	for _, id := range ids {
		_, _ = s.Starter.Wait(ctx, id) // a failed execution is data too
		out := call(http.MethodGet, "/v1/generations/"+id, nil)
		images, _ := out["images"].([]any)
		if rated == "" && len(images) > 0 {
			rated = images[0].(map[string]any)["id"].(string)
			call(http.MethodPost, "/v1/generations/"+id+"/images/"+rated+"/feedback", map[string]any{"rating": 1, "reasons": []string{"wrong colour"}})
		}
	}
	require.NotEmpty(t, rated, "no generation delivered an image to rate")
	// The rating reaches the learner through the local queue (polled).
	require.Eventually(t, func() bool {
		items, err := s.Store.ReviewQueue(ctx, 100)
		require.NoError(t, err)
		for _, it := range items {
			if it.CandidateID == rated {
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "the rated image never reached the review queue")
	_, err = s.Pipeline.Recalibrate(ctx)
	require.NoError(t, err)
}

// writeScreenshot saves the whole page as a PNG under 400 KB: Chromium's
// capture, re-encoded at the best compression and halved if still too big.
func writeScreenshot(t *testing.T, browser context.Context, path string) {
	t.Helper()
	raw, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	require.NoError(t, enc.Encode(&out, img))
	if out.Len() >= 400<<10 {
		out.Reset()
		require.NoError(t, enc.Encode(&out, halfSize(img)))
	}
	require.Less(t, out.Len(), 400<<10, "screenshot too large")
	require.NoError(t, os.WriteFile(path, out.Bytes(), 0o644))
	t.Logf("wrote %s (%d KB, %v)", path, out.Len()>>10, img.Bounds().Size())
}

// halfSize scales an image to half its size.
func halfSize(src image.Image) image.Image {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	xdraw.BiLinear.Scale(dst, dst.Bounds(), src, b, xdraw.Src, nil)
	return dst
}
