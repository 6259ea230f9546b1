package stack_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/s3local"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/httpapi"
	"github.com/designerbff/pipeline/shared/system"
	"github.com/designerbff/pipeline/shared/webhook"
)

// newContractHarness is newHarness on env and opts, returning the contract
// that checked its API's exchanges against the OpenAPI document.
func newContractHarness(t *testing.T, env map[string]string, opts stack.Options) (*harness, *stacktest.Contract) {
	t.Helper()
	opts.DatabaseURL = pgtest.NewURL(t)
	opts.MapConcurrency = 4
	h := startHarness(t, env, opts)
	return h, h.contract
}

// finished creates a generation through the API and waits for its end.
func (h *harness) finished(settings string) string {
	t := h.t
	status, out := h.post(settings)
	require.Equal(t, http.StatusAccepted, status, out)
	id := out["id"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := h.stack.Starter.Wait(ctx, id)
	require.NoError(t, err)
	return id
}

// Every route of the document answers, over the real stack, what the
// document says, for a successful call and for its errors; a route the
// tests never called successfully fails the test.
func TestEveryRouteMatchesTheContract(t *testing.T) {
	t.Parallel()
	h, contract := newContractHarness(t, nil, stack.Options{Providers: nil})
	id := h.finished(`{"count": 2, "prompt": "navy coat"}`)

	// The multipart create route.
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	part, err := mw.CreateFormFile("image", "shirt.png")
	require.NoError(t, err)
	_, err = part.Write(referencePNG(t))
	require.NoError(t, err)
	require.NoError(t, mw.WriteField("settings", `{"count": 1}`))
	require.NoError(t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, h.api.URL+"/api/generate/from-image", &form)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer designer")
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", raw)
	var formCreated struct{ ID string }
	require.NoError(t, json.Unmarshal(raw, &formCreated))
	_, err = h.stack.Starter.Wait(context.Background(), formCreated.ID)
	require.NoError(t, err)

	var g httpapi.GenerationBody
	stacktest.GetJSON(t, h.api.URL+"/v1/generations/"+id, "designer", &g)
	require.NotEmpty(t, g.Images)
	calls := []struct {
		method, path, user, body string
		want                     int
	}{
		{http.MethodGet, "/v1/generations?limit=1", "designer", "", 200},
		{http.MethodGet, "/v1/generations?status=delivered", "designer", "", 200},
		{http.MethodGet, "/v1/generations?limit=0", "designer", "", 400},
		{http.MethodGet, "/v1/generations", "", "", 401},
		{http.MethodGet, "/v1/generations/" + id, "someone-else", "", 404},
		{http.MethodGet, "/v1/generations/" + id + "/events", "designer", "", 200},
		{http.MethodPost, "/v1/generations/" + id + "/images/" + g.Images[0].ID + "/feedback", "designer", `{"rating": 4, "reasons": ["nice"]}`, 202},
		{http.MethodPost, "/v1/generations/" + id + "/images/" + g.Images[0].ID + "/feedback", "designer", `{"rating": 9}`, 400},
		{http.MethodGet, "/api/optimization/buffer/procedural?count=4&confidence=0.9", "designer", "", 200},
		{http.MethodGet, "/api/optimization/buffer/procedural", "designer", "", 400},
		{http.MethodGet, "/api/optimization/provider/procedural", "designer", "", 200},
		{http.MethodGet, "/v1/learning/procedural", "designer", "", 200},
		{http.MethodGet, "/openapi.json", "", "", 200},
		// Operators (OPERATOR_USER_IDS' default, "operator") and everybody else.
		{http.MethodGet, "/dashboard", "operator", "", 200},
		{http.MethodGet, "/dashboard", "designer", "", 403},
		{http.MethodGet, "/v1/monitoring/summary", "operator", "", 200},
		{http.MethodGet, "/v1/monitoring/nothing", "operator", "", 404},
		{http.MethodGet, "/v1/monitoring/summary", "designer", "", 403},
		{http.MethodGet, "/v1/reviews?limit=5", "operator", "", 200},
		{http.MethodGet, "/v1/reviews?limit=x", "operator", "", 400},
		{http.MethodPost, "/v1/reviews/" + g.Images[0].ID, "operator", `{"decision": "approve"}`, 202},
		{http.MethodPost, "/v1/reviews/" + g.Images[0].ID, "operator", `{"decision": "maybe"}`, 400},
		{http.MethodPost, "/v1/reviews/" + g.Images[0].ID, "designer", `{"decision": "reject"}`, 403},
		{http.MethodPost, "/v1/generations", "designer", `{"image": "", "settings": {"count": 0}}`, 400},
		{http.MethodDelete, "/v1/generations/" + id, "someone-else", "", 404},
		{http.MethodDelete, "/v1/generations/" + id, "designer", "", 204},
		{http.MethodDelete, "/v1/generations/" + id, "designer", "", 204},
		{http.MethodGet, "/v1/generations/" + id, "designer", "", 404},
	}
	for _, c := range calls {
		status, _, raw := h.call(c.method, c.path, c.user, c.body)
		require.Equal(t, c.want, status, "%s %s: %s", c.method, c.path, raw)
	}
	seen := contract.Seen()
	for _, op := range contract.Operations() {
		ok := slices.ContainsFunc(seen[op], func(s int) bool { return s < 400 })
		require.True(t, ok, "no successful call of %s was checked against the document (saw %v)", op, seen[op])
	}
}

// Pages of GET /v1/generations list every generation of the caller once,
// newest first, while other generations are being created: the keyset
// cursor never shifts. Bad parameters are 400s naming the parameter.
func TestListPagesAreStableUnderConcurrentInserts(t *testing.T) {
	t.Parallel()
	h, _ := newContractHarness(t, nil, stack.Options{})
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	type seeded struct {
		id string
		at time.Time
	}
	var want []seeded
	insert := func(user string, at time.Time, status generation.Status) string {
		g := generation.Generation{
			ID: generation.NewID(), UserID: user, Status: status, RequestedCount: 2, Provider: "procedural",
			Settings: generation.Settings{Count: 2, TargetConfidence: 0.9, Provider: "procedural"}, CreatedAt: at,
		}
		if status.Final() {
			g.CompletedAt = &at
		}
		stored, created, err := h.stack.Store.CreateGeneration(ctx, g)
		require.NoError(t, err)
		require.True(t, created)
		return stored.ID
	}
	for i := range 25 {
		// Pairs share a timestamp: the id breaks the tie.
		at := base.Add(time.Duration(i/2) * time.Second)
		status := generation.StatusDelivered
		if i%5 == 0 {
			status = generation.StatusFailed
		}
		want = append(want, seeded{insert("lister", at, status), at})
	}
	insert("someone-else", base.Add(time.Minute), generation.StatusDelivered)
	slices.SortFunc(want, func(a, b seeded) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(b.id, a.id)
	})

	// Another client creates generations while this one pages: up to 40,
	// each newer than every seeded one.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	inserted := 0
	wg.Go(func() {
		for ; inserted < 40; inserted++ {
			select {
			case <-stop:
				return
			default:
			}
			insert("lister", time.Now(), generation.StatusPlanning)
		}
	})
	var all []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 20, "paging does not end")
		var page httpapi.ListBody
		stacktest.GetJSON(t, h.api.URL+"/v1/generations?limit=7&cursor="+url.QueryEscape(cursor), "lister", &page)
		require.LessOrEqual(t, len(page.Generations), 7)
		for _, g := range page.Generations {
			all = append(all, g.ID)
			require.Equal(t, "/v1/generations/"+g.ID, g.Links.Self)
			require.False(t, g.CreatedAt.IsZero())
			require.False(t, g.UpdatedAt.IsZero())
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	close(stop)
	wg.Wait()
	t.Logf("%d generations created while paging", inserted)

	// No generation twice; every seeded one once and in order; the ones
	// created meanwhile only ahead of them (they are newer).
	seen := map[string]bool{}
	var got []string
	isSeeded := map[string]bool{}
	for _, w := range want {
		isSeeded[w.id] = true
	}
	for _, id := range all {
		require.False(t, seen[id], "%s listed twice", id)
		seen[id] = true
		if isSeeded[id] {
			got = append(got, id)
		} else {
			require.Empty(t, got, "a generation created while paging appeared after a seeded one")
		}
	}
	wantIDs := make([]string, len(want))
	for i, w := range want {
		wantIDs[i] = w.id
	}
	require.Equal(t, wantIDs, got, "newest first by (createdAt, id), none skipped")

	var failed httpapi.ListBody
	stacktest.GetJSON(t, h.api.URL+"/v1/generations?status=failed&limit=100", "lister", &failed)
	require.Len(t, failed.Generations, 5)
	for _, g := range failed.Generations {
		require.Equal(t, generation.StatusFailed, g.Status)
	}
	for _, bad := range []struct{ query, field string }{
		{"status=done", "status"}, {"limit=101", "limit"}, {"limit=x", "limit"}, {"cursor=abc", "cursor"}, {"sort=asc", "sort"},
	} {
		status, _, raw := h.call(http.MethodGet, "/v1/generations?"+bad.query, "lister", "")
		require.Equal(t, http.StatusBadRequest, status, raw)
		require.Contains(t, raw, `"field":"`+bad.field+`"`, bad.query)
	}
}

// The order is (createdAt, id) descending, ties included.
func TestListOrderBreaksTiesByID(t *testing.T) {
	t.Parallel()
	h, _ := newContractHarness(t, nil, stack.Options{})
	ctx := context.Background()
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	var ids []string
	for range 5 {
		g, _, err := h.stack.Store.CreateGeneration(ctx, generation.Generation{
			ID: generation.NewID(), UserID: "ties", Status: generation.StatusPlanning, RequestedCount: 1, Provider: "procedural",
			Settings: generation.Settings{Count: 1, TargetConfidence: 0.9, Provider: "procedural"}, CreatedAt: at,
		})
		require.NoError(t, err)
		ids = append(ids, g.ID)
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	var got []string
	cursor := ""
	for {
		var page httpapi.ListBody
		stacktest.GetJSON(t, h.api.URL+"/v1/generations?limit=2&cursor="+url.QueryEscape(cursor), "ties", &page)
		for _, g := range page.Generations {
			got = append(got, g.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	require.Equal(t, ids, got)
}

// DELETE removes every object of the generation from the bucket and erases
// its user content; the learner's statistics stay; a running generation is
// a 409; deleting twice is 204 twice; another user's is 404.
func TestDeleteRemovesEveryObjectAndErasesContent(t *testing.T) {
	t.Parallel()
	h, _ := newContractHarness(t, nil, stack.Options{})
	ctx := context.Background()
	id := h.finished(`{"count": 3, "prompt": "my secret navy coat", "negativePrompt": "my secret blur"}`)
	var g httpapi.GenerationBody
	stacktest.GetJSON(t, h.api.URL+"/v1/generations/"+id, "designer", &g)
	require.NotEmpty(t, g.Images)
	status, _, raw := h.call(http.MethodPost, "/v1/generations/"+id+"/images/"+g.Images[0].ID+"/feedback", "designer",
		`{"rating": 1, "reasons": ["my secret complaint"]}`)
	require.Equal(t, http.StatusAccepted, status, raw)
	_, err := h.stack.Queue.Drain(ctx)
	require.NoError(t, err)

	require.Len(t, h.objectKeys("references/"+id+"."), 1)
	images := h.objectKeys("generations/" + id + "/")
	require.GreaterOrEqual(t, len(images), 3)
	var statsBefore string
	require.NoError(t, h.stack.Pool.QueryRow(ctx, `SELECT COALESCE(string_agg(attribute || passes || failures, ',' ORDER BY attribute), '') FROM attribute_stats`).Scan(&statsBefore))
	require.NotEmpty(t, statsBefore)
	require.Positive(t, h.count(`SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1 AND 'my secret complaint' = ANY(reasons)`, id))

	// Another user's id is a 404 and deletes nothing.
	status, _, raw = h.call(http.MethodDelete, "/v1/generations/"+id, "mallory", "")
	require.Equal(t, http.StatusNotFound, status, raw)
	require.Len(t, h.objectKeys("generations/"+id+"/"), len(images))

	// A running generation is refused.
	running, _, err := h.stack.Store.CreateGeneration(ctx, generation.Generation{
		ID: generation.NewID(), UserID: "designer", Status: generation.StatusGenerating, RequestedCount: 1, Provider: "procedural",
		Settings: generation.Settings{Count: 1, TargetConfidence: 0.9, Provider: "procedural"},
	})
	require.NoError(t, err)
	status, _, raw = h.call(http.MethodDelete, "/v1/generations/"+running.ID, "designer", "")
	require.Equal(t, http.StatusConflict, status, raw)
	require.Contains(t, raw, "still generating")

	for range 2 { // idempotent
		status, _, raw = h.call(http.MethodDelete, "/v1/generations/"+id, "designer", "")
		require.Equal(t, http.StatusNoContent, status, raw)
		require.Empty(t, raw)
	}
	require.Empty(t, h.objectKeys("references/"+id+"."), "the reference is gone")
	require.Empty(t, h.objectKeys("generations/"+id+"/"), "every candidate image is gone")
	status, _, _ = h.call(http.MethodGet, "/v1/generations/"+id, "designer", "")
	require.Equal(t, http.StatusNotFound, status)
	var list httpapi.ListBody
	stacktest.GetJSON(t, h.api.URL+"/v1/generations", "designer", &list)
	for _, s := range list.Generations {
		require.NotEqual(t, id, s.ID, "a deleted generation is not listed")
	}
	status, _, _ = h.call(http.MethodPost, "/v1/generations/"+id+"/images/"+g.Images[0].ID+"/feedback", "designer", `{"rating": 5}`)
	require.Equal(t, http.StatusNotFound, status, "a deleted generation cannot be rated")

	// Nothing the user wrote is left in any row of the generation.
	for _, q := range []string{
		`SELECT count(*) FROM generations WHERE id = $1 AND (base_prompt <> '' OR settings::text LIKE '%secret%' OR reference_key IS NOT NULL OR reference_features ? 'palette')`,
		`SELECT count(*) FROM candidates WHERE generation_id = $1 AND (prompt <> '' OR negative_prompt <> '')`,
		`SELECT count(*) FROM rlhf_feedback WHERE generation_id = $1 AND (prompt <> '' OR reasons::text LIKE '%secret%' OR metadata::text LIKE '%secret%')`,
		`SELECT count(*) FROM validation_results v JOIN candidates c ON c.id = v.candidate_id WHERE c.generation_id = $1 AND v.fingerprint IS NOT NULL`,
	} {
		require.Zero(t, h.count(q, id), q)
	}
	// What the learner learned stays.
	var statsAfter string
	require.NoError(t, h.stack.Pool.QueryRow(ctx, `SELECT COALESCE(string_agg(attribute || passes || failures, ',' ORDER BY attribute), '') FROM attribute_stats`).Scan(&statsAfter))
	require.Equal(t, statsBefore, statsAfter)
	require.Equal(t, 1, h.count(`SELECT count(*) FROM generations WHERE id = $1 AND deleted_at IS NOT NULL AND delivered_count > 0`, id), "the tombstone keeps counts and cost")
}

// The same Idempotency-Key with another request is a 409 naming what
// differs; the same request returns the first generation.
func TestIdempotencyKeyReusedWithAnotherRequestIs409(t *testing.T) {
	t.Parallel()
	h, _ := newContractHarness(t, nil, stack.Options{})
	h.idempotencyKey = "order-42"
	status, first := h.post(`{"count": 2}`)
	require.Equal(t, http.StatusAccepted, status, first)
	status, again := h.post(`{"count": 2, "maxRounds": 3}`) // the same request once defaults apply
	require.Equal(t, http.StatusAccepted, status, again)
	require.Equal(t, first["id"], again["id"])

	status, out := h.post(`{"count": 3}`)
	require.Equal(t, http.StatusConflict, status, out)
	errBody := out["error"].(map[string]any)
	require.Equal(t, "Idempotency-Key", errBody["field"])
	require.Equal(t, "conflict", errBody["code"])
	require.Contains(t, errBody["message"], "different settings")
	require.NotContains(t, errBody["message"], "image")

	h.reference = blankPNG(t)
	status, out = h.post(`{"count": 2}`)
	require.Equal(t, http.StatusConflict, status, out)
	require.Contains(t, out["error"].(map[string]any)["message"], "different image")
	_, err := h.stack.Starter.Wait(context.Background(), first["id"].(string))
	require.NoError(t, err)
}

func blankPNG(t *testing.T) []byte {
	img := blankImage(t)
	return img.Bytes
}

// receiver is a local https webhook receiver that verifies each request as
// README's snippet does and refuses the first refuse attempts with 503.
type receiver struct {
	srv    *httptest.Server
	secret string
	refuse int

	mu       sync.Mutex
	requests []received
}

type received struct {
	id, timestamp string
	body          []byte
	verified      error
}

func newReceiver(t *testing.T, secret string, refuse int) *receiver {
	r := &receiver{secret: secret, refuse: refuse}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rec := received{id: req.Header.Get("Webhook-Id"), timestamp: req.Header.Get("Webhook-Timestamp"), body: body,
			verified: verifyWebhook([]byte(r.secret), req.Header, body, time.Now())}
		r.mu.Lock()
		r.requests = append(r.requests, rec)
		refused := len(r.requests) <= r.refuse
		r.mu.Unlock()
		if refused {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

// verifyWebhook is README's receiver snippet ("Completion webhooks"),
// verbatim, so the documented check is the tested one.
func verifyWebhook(secret []byte, h http.Header, body []byte, now time.Time) error {
	ts := h.Get("Webhook-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("no timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp too old or in the future")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "." + string(body)))
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(h.Get("Webhook-Signature"))) {
		return fmt.Errorf("bad signature")
	}
	return nil
}

// A generation with a webhookUrl notifies a local https receiver when it
// is final: the delivery's own attempt is refused (503) and recorded, the
// retry (the schedule's run, here called directly at a later time) is
// accepted; both carry the same id and body and a signature the receiver
// verifies. The guard refuses what it must.
func TestWebhookIsSignedRetriedAndRecorded(t *testing.T) {
	t.Parallel()
	// The stack's local default (WEBHOOK_SIGNING_SECRET is unset in tests).
	secret := system.DevWebhookSecret
	rcv := newReceiver(t, secret, 1)
	host := strings.TrimPrefix(rcv.srv.URL, "https://")
	trust := rcv.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	h, _ := newContractHarness(t, map[string]string{"WEBHOOK_ALLOWED_HOSTS": host},
		stack.Options{WebhookClient: webhook.NewClient(true, trust)})
	ctx := context.Background()

	// Refused at the door: not https, not an allowed host.
	for _, bad := range []string{"http://" + host + "/hook", "https://example.com/hook", "https://user:pw@" + host + "/hook"} {
		status, out := h.post(`{"count": 1, "webhookUrl": "` + bad + `"}`)
		require.Equal(t, http.StatusBadRequest, status, "%s: %v", bad, out)
		require.Equal(t, "webhookUrl", out["error"].(map[string]any)["field"], bad)
	}

	id := h.finished(`{"count": 2, "webhookUrl": "` + rcv.srv.URL + `/hooks/designer?token=1"}`)
	got := rcv.got()
	require.Len(t, got, 1, "the delivery attempted its notification at once")
	require.NoError(t, got[0].verified)
	attempts := webhookAttempts(t, h, id)
	require.Equal(t, []string{"pending", "1:503"}, attempts)

	hooks, err := h.stack.System.Webhooks()
	require.NoError(t, err)
	n, err := hooks.RunDue(ctx, time.Now(), "")
	require.NoError(t, err)
	require.Zero(t, n, "not due before its backoff")
	n, err = hooks.RunDue(ctx, time.Now().Add(time.Hour), "")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got = rcv.got()
	require.Len(t, got, 2)
	require.NoError(t, got[1].verified)
	require.Equal(t, got[0].id, got[1].id, "one delivery id on every attempt")
	require.Equal(t, got[0].body, got[1].body)
	require.Equal(t, []string{"delivered", "1:503", "2:204"}, webhookAttempts(t, h, id))
	var body struct {
		Type, GenerationID, Status string
		DeliveredCount             int
		Links                      struct{ Self string }
	}
	require.NoError(t, json.Unmarshal(got[1].body, &body))
	require.Equal(t, "generation.completed", body.Type)
	require.Equal(t, id, body.GenerationID)
	require.Equal(t, "delivered", body.Status)
	require.Equal(t, 2, body.DeliveredCount)
	require.Equal(t, "/v1/generations/"+id, body.Links.Self)
	n, err = hooks.RunDue(ctx, time.Now().Add(24*time.Hour), "")
	require.NoError(t, err)
	require.Zero(t, n, "a delivered notification is not sent again")

	// The production guard (public addresses only) refuses the loopback
	// receiver: the attempt is recorded with why.
	rcv.mu.Lock()
	rcv.refuse = 3 // the delivery's own attempt is refused again
	rcv.mu.Unlock()
	id2 := h.finished(`{"count": 1, "webhookUrl": "` + rcv.srv.URL + `/second"}`)
	require.Len(t, rcv.got(), 3)
	require.Equal(t, []string{"pending", "1:503"}, webhookAttempts(t, h, id2))
	guarded := &webhook.Dispatcher{Outbox: h.stack.Store, Secret: []byte(secret), Hosts: []string{host}}
	_, err = guarded.RunDue(ctx, time.Now().Add(time.Hour), id2)
	require.NoError(t, err)
	require.Len(t, rcv.got(), 3, "nothing reached the receiver")
	var why string
	require.NoError(t, h.stack.Pool.QueryRow(ctx, `SELECT a.error FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
		WHERE d.generation_id = $1 ORDER BY a.attempt DESC LIMIT 1`, id2).Scan(&why))
	require.Contains(t, why, "not a public address")
	require.Equal(t, []string{"pending", "1:503", "2:0"}, webhookAttempts(t, h, id2), "refused, recorded, still due")
	require.NotContains(t, why, "/second", "the URL is not copied into the record")
}

// webhookAttempts is the delivery's state followed by "attempt:status" of
// each attempt.
func webhookAttempts(t *testing.T, h *harness, generationID string) []string {
	t.Helper()
	var state string
	require.NoError(t, h.stack.Pool.QueryRow(context.Background(), `SELECT state FROM webhook_deliveries WHERE generation_id = $1`, generationID).Scan(&state))
	rows, err := h.stack.Pool.Query(context.Background(), `SELECT a.attempt, COALESCE(a.status_code, 0) FROM webhook_attempts a
		JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.generation_id = $1 ORDER BY a.attempt`, generationID)
	require.NoError(t, err)
	defer rows.Close()
	out := []string{state}
	for rows.Next() {
		var attempt, status int
		require.NoError(t, rows.Scan(&attempt, &status))
		out = append(out, fmt.Sprintf("%d:%d", attempt, status))
	}
	require.NoError(t, rows.Err())
	return out
}

// A delete while the bucket is unreachable is a 503 that leaves the
// generation deleted (its rows erased, reads 404) with its objects still
// there; the same DELETE once the bucket is back removes them.
func TestFaultDeleteWhileTheBucketIsUnreachable(t *testing.T) {
	t.Parallel()
	s3, err := s3local.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = s3.Close() })
	px := startProxy(t, strings.TrimPrefix(s3.URL(), "http://"))
	env := map[string]string{"R2_ENDPOINT": "http://" + px.addr, "R2_ACCESS_KEY_ID": "local", "R2_SECRET_ACCESS_KEY": "local", "R2_USE_PATH_STYLE": "true"}
	h, _ := newContractHarness(t, env, stack.Options{})
	require.NoError(t, h.stack.Objects.EnsureBucket(context.Background()))
	id := h.finished(`{"count": 2}`)
	before := len(h.objectKeys("generations/" + id + "/"))
	require.Positive(t, before)

	px.cut()
	status, _, raw := h.call(http.MethodDelete, "/v1/generations/"+id, "designer", "")
	require.Equal(t, http.StatusServiceUnavailable, status, raw)
	require.Contains(t, raw, `"code":"unavailable"`)
	status, _, _ = h.call(http.MethodGet, "/v1/generations/"+id, "designer", "")
	require.Equal(t, http.StatusNotFound, status, "deleted in the database before the bucket was reached")
	px.restore(t)
	require.Len(t, h.objectKeys("generations/"+id+"/"), before, "the objects outlived the failed delete")

	status, _, raw = h.call(http.MethodDelete, "/v1/generations/"+id, "designer", "")
	require.Equal(t, http.StatusNoContent, status, raw)
	require.Empty(t, h.objectKeys("generations/"+id+"/"))
	require.Empty(t, h.objectKeys("references/"+id+"."))
}

// A receiver that refuses connections: the attempt is recorded with why and
// stays due; once it listens again the retry delivers.
func TestFaultWebhookReceiverDown(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, system.DevWebhookSecret, 0)
	host := strings.TrimPrefix(rcv.srv.URL, "https://")
	trust := rcv.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	px := startProxy(t, host)
	h, _ := newContractHarness(t, map[string]string{"WEBHOOK_ALLOWED_HOSTS": px.addr},
		stack.Options{WebhookClient: webhook.NewClient(true, trust)})
	px.cut()
	// The receiver's certificate is for 127.0.0.1, which the proxy's
	// address is too.
	id := h.finished(`{"count": 1, "webhookUrl": "https://` + px.addr + `/hook"}`)
	require.Equal(t, []string{"pending", "1:0"}, webhookAttempts(t, h, id))
	var why string
	require.NoError(t, h.stack.Pool.QueryRow(context.Background(), `SELECT a.error FROM webhook_attempts a
		JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.generation_id = $1`, id).Scan(&why))
	require.Contains(t, why, "connection refused")
	require.Empty(t, rcv.got())

	px.restore(t)
	hooks, err := h.stack.System.Webhooks()
	require.NoError(t, err)
	_, err = hooks.RunDue(context.Background(), time.Now().Add(time.Hour), "")
	require.NoError(t, err)
	require.Equal(t, []string{"delivered", "1:0", "2:204"}, webhookAttempts(t, h, id))
	require.Len(t, rcv.got(), 1)
	require.NoError(t, rcv.got()[0].verified)
}

// GET /v1/generations/{id}/events streams the generation's progress while
// it runs and ends with a `final` event; another user's id is the JSON 404.
func TestEventsStreamUntilFinal(t *testing.T) {
	t.Parallel()
	h, _ := newContractHarness(t, nil, stack.Options{})
	status, out := h.post(`{"count": 3}`)
	require.Equal(t, http.StatusAccepted, status, out)
	id := out["id"].(string)

	req, err := http.NewRequest(http.MethodGet, h.api.URL+"/v1/generations/"+id+"/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer designer")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	raw, err := io.ReadAll(resp.Body) // the stream ends after `final`
	require.NoError(t, err)

	var kinds []string
	var last httpapi.SummaryBody
	for block := range strings.SplitSeq(strings.TrimSpace(string(raw)), "\n\n") {
		var kind, data string
		for line := range strings.SplitSeq(block, "\n") {
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				kind = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				data = v
			}
		}
		if kind == "" {
			require.Contains(t, block, "retry: ")
			continue
		}
		kinds = append(kinds, kind)
		require.NoError(t, json.Unmarshal([]byte(data), &last))
		require.Equal(t, id, last.ID)
	}
	require.NotEmpty(t, kinds)
	require.Equal(t, "final", kinds[len(kinds)-1], "events: %v", kinds)
	for _, k := range kinds[:len(kinds)-1] {
		require.Equal(t, "progress", k)
	}
	require.True(t, last.Status.Final())
	require.Equal(t, 3, last.DeliveredCount)

	status, _, raw2 := h.call(http.MethodGet, "/v1/generations/"+id+"/events", "mallory", "")
	require.Equal(t, http.StatusNotFound, status, raw2)
	require.Contains(t, raw2, `"code":"not_found"`)
}
