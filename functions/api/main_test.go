package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/pgtest"
	"github.com/designerbff/pipeline/infra/local/stack"
	"github.com/designerbff/pipeline/infra/local/stack/stacktest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestSampleEvents(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	svc := service(s.Pipeline, s.Store, s.Config, s.Starter)
	require.False(t, svc.LocalAuth, "in AWS only the JWT authorizer names the user")

	tests := []struct {
		event  string
		status int
	}{
		{"create-json", 202},
		{"create-json", 202}, // the Idempotency-Key makes a retry the same generation
		{"create-multipart", 202},
		{"get", 200},
	}
	var created []string
	for _, tt := range tests {
		out, err := stacktest.Invoke(t, svc.HandleAPIGateway, stacktest.Event(t, "api", tt.event))
		require.NoError(t, err, tt.event)
		var resp events.APIGatewayV2HTTPResponse
		require.NoError(t, json.Unmarshal(out, &resp))
		require.Equal(t, tt.status, resp.StatusCode, "%s: %s", tt.event, resp.Body)
		require.Contains(t, resp.Headers["Content-Type"], "application/json")
		var body struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &body))
		if tt.event == "get" {
			require.Equal(t, stack.FixtureGenerationID, body.ID)
		} else {
			created = append(created, body.ID)
		}
	}
	require.Equal(t, "1cb2a2f0-d062-515a-a237-6d1428816041", created[0], "the id derives from the user and the key")
	require.Equal(t, created[0], created[1])
	require.NotEqual(t, created[0], created[2])
	for _, id := range []string{created[0], created[2]} {
		_, err := s.Starter.Wait(context.Background(), id)
		require.NoError(t, err, "the started execution runs the real state machine")
		g, err := s.Store.Generation(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, stack.FixtureUserID, g.UserID)
		require.True(t, g.Status.Final(), g.Status)
	}
}
