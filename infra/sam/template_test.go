package sam

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"image/png"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/stage"
	"github.com/designerbff/pipeline/shared/system"
	"github.com/designerbff/pipeline/statemachine"
)

// root is the repository root, seen from this package.
const root = "../.."

var (
	templatePath   = filepath.Join(root, "template.yaml")
	definitionPath = filepath.Join(root, "statemachine", "generation.asl.json")
	configPath     = filepath.Join(root, "shared", "config", "config.go")
	eventsDir      = filepath.Join(root, "events")
)

// functionFolders maps each function's logical id to its folder under
// functions/ (and events/), from the registry the mains use: a new function
// needs a row in system.Functions.
var functionFolders = func() map[string]string {
	m := map[string]string{}
	for _, f := range system.Functions {
		m[f.LogicalID] = f.Name
	}
	return m
}()

var loadTemplate = sync.OnceValues(func() (Template, error) { return ReadTemplate(templatePath) })

func testTemplate(t *testing.T) Template {
	t.Helper()
	tpl, err := loadTemplate()
	require.NoError(t, err)
	return tpl
}

func readDefinition(t *testing.T) []byte {
	t.Helper()
	def, err := os.ReadFile(definitionPath)
	require.NoError(t, err)
	return def
}

// dig follows map keys through a decoded template value.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// functionSetting is a function's property, or the Globals one it inherits.
func functionSetting(tpl Template, id, key string) any {
	if v, ok := tpl.Resources[id].Properties[key]; ok {
		return v
	}
	return dig(tpl.Globals, "Function", key)
}

func functionIDs(tpl Template) []string {
	var ids []string
	for id, r := range tpl.Resources {
		if r.Type == "AWS::Serverless::Function" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func substitutions(t *testing.T, tpl Template) map[string]any {
	t.Helper()
	_, sm, err := tpl.StateMachine()
	require.NoError(t, err)
	subs, ok := sm.Properties["DefinitionSubstitutions"].(map[string]any)
	require.True(t, ok, "the state machine needs DefinitionSubstitutions")
	return subs
}

// taskResources maps every Task state (Map iterations included) to its Resource.
func taskResources(t *testing.T, definition []byte) map[string]string {
	t.Helper()
	rendered, err := RenderDefinition(definition, stubSubstitutions(definition))
	require.NoError(t, err)
	var def map[string]any
	require.NoError(t, json.Unmarshal(rendered, &def))
	tasks := map[string]string{}
	var walk func(states map[string]any)
	walk = func(states map[string]any) {
		for name, s := range states {
			st, _ := s.(map[string]any)
			if st["Type"] == "Task" {
				res, _ := st["Resource"].(string)
				tasks[name] = res
			}
			for _, proc := range []string{"ItemProcessor", "Iterator"} {
				if inner, ok := dig(st, proc, "States").(map[string]any); ok {
					walk(inner)
				}
			}
			if branches, ok := st["Branches"].([]any); ok {
				for _, b := range branches {
					inner, _ := dig(b, "States").(map[string]any)
					walk(inner)
				}
			}
		}
	}
	states, ok := def["States"].(map[string]any)
	require.True(t, ok, "the definition has no States")
	walk(states)
	return tasks
}

// stubSubstitutions substitutes each placeholder with a JSON value that
// keeps its name visible: "${Name}" inside a string stays "${Name}", and a
// bare one becomes 1.
func stubSubstitutions(definition []byte) map[string]string {
	subs := map[string]string{}
	for _, name := range placeholders(definition) {
		if bytes.Contains(definition, []byte(`"${`+name+`}"`)) {
			subs[name] = "${" + name + "}"
		} else {
			subs[name] = "1"
		}
	}
	return subs
}

func TestParseTemplateShortTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want any
	}{
		{name: "Ref", yaml: "v: !Ref Bucket", want: map[string]any{"Ref": "Bucket"}},
		{name: "GetAtt scalar", yaml: "v: !GetAtt Fn.Arn", want: map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}},
		{name: "GetAtt nested attribute", yaml: "v: !GetAtt Db.Endpoint.Address", want: map[string]any{"Fn::GetAtt": []any{"Db", "Endpoint.Address"}}},
		{name: "GetAtt sequence", yaml: "v: !GetAtt [Fn, Arn]", want: map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}},
		{name: "Sub", yaml: "v: !Sub 'arn:${AWS::Partition}:s3:::${Bucket}'", want: map[string]any{"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}"}},
		{name: "nested", yaml: "v: !Not [!Equals [!Ref Topic, '']]", want: map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Topic"}, ""}}}}},
		{name: "tagged mapping", yaml: "v: !FindInMap\n  - M\n  - !Ref AWS::Region\n  - K", want: map[string]any{"Fn::FindInMap": []any{"M", map[string]any{"Ref": "AWS::Region"}, "K"}}},
		{name: "Condition", yaml: "v: !Condition IsProd", want: map[string]any{"Condition": "IsProd"}},
		{name: "plain scalars keep their types", yaml: "v: [1, 0.5, true, 'x']", want: []any{float64(1), 0.5, true, "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := ParseTemplate([]byte("Outputs:\n  " + strings.ReplaceAll(tt.yaml, "\n", "\n  ")))
			require.NoError(t, err)
			require.Equal(t, tt.want, tpl.Outputs["v"])
		})
	}
	t.Run("GetAtt without attribute", func(t *testing.T) {
		t.Parallel()
		_, err := ParseTemplate([]byte("Outputs:\n  v: !GetAtt Fn\n"))
		require.ErrorContains(t, err, "Resource.Attribute")
	})
}

// (1) Every placeholder has a substitution and every substitution is used.
func TestDefinitionSubstitutionsMatchPlaceholders(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	placeholders := placeholders(readDefinition(t))
	require.NotEmpty(t, placeholders)
	subs := slices.Sorted(maps.Keys(substitutions(t, tpl)))

	var missing, unused []string
	for _, p := range placeholders {
		if !slices.Contains(subs, p) {
			missing = append(missing, p)
		}
	}
	for _, s := range subs {
		if !slices.Contains(placeholders, s) {
			unused = append(unused, s)
		}
	}
	require.Empty(t, missing, "placeholders in %s without a DefinitionSubstitutions entry", definitionPath)
	require.Empty(t, unused, "DefinitionSubstitutions entries the definition never uses")

	_, sm, err := tpl.StateMachine()
	require.NoError(t, err)
	require.Equal(t, "STANDARD", sm.Properties["Type"])
	require.Equal(t, "statemachine/generation.asl.json", sm.Properties["DefinitionUri"])
}

// (2) Every Task invokes a template function the state machine may invoke.
func TestTaskResourcesInvokeTemplateFunctions(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	subs := substitutions(t, tpl)
	_, sm, err := tpl.StateMachine()
	require.NoError(t, err)
	invokable := map[string]bool{}
	policies, _ := sm.Properties["Policies"].([]any)
	for _, p := range policies {
		if fn, ok := Ref(dig(p, "LambdaInvokePolicy", "FunctionName")); ok {
			invokable[fn] = true
		}
	}

	tasks := taskResources(t, readDefinition(t))
	require.NotEmpty(t, tasks)
	resourceRef := regexp.MustCompile(`^\$\{(\w+)\}$`)
	for state, resource := range tasks {
		t.Run(state, func(t *testing.T) {
			t.Parallel()
			m := resourceRef.FindStringSubmatch(resource)
			require.NotNil(t, m, "Resource %q must be a ${…} substitution, never a literal ARN", resource)
			fn, attr, ok := GetAtt(subs[m[1]])
			require.True(t, ok, "substitution %s must be !GetAtt <Function>.Arn, got %v", m[1], subs[m[1]])
			require.Equal(t, "Arn", attr)
			require.Equal(t, "AWS::Serverless::Function", tpl.Resources[fn].Type, "%s is not a function of the template", fn)
			require.True(t, invokable[fn], "the state machine has no LambdaInvokePolicy for %s", fn)
		})
	}
}

// (3) Every function is built by `make build-<LogicalId>` from functions/<folder>.
func TestFunctionsBuildWithMakefile(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	require.ElementsMatch(t, slices.Sorted(maps.Keys(functionFolders)), functionIDs(tpl),
		"functions in template.yaml and the functionFolders table differ")

	for id, folder := range functionFolders {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			res := tpl.Resources[id]
			t.Run("template", func(t *testing.T) {
				t.Parallel()
				require.Equal(t, "makefile", res.Metadata["BuildMethod"])
				require.Equal(t, ".", res.Properties["CodeUri"], "CodeUri must be the root, where go.mod and the Makefile are")
				require.Equal(t, "provided.al2023", functionSetting(tpl, id, "Runtime"))
				require.Equal(t, "bootstrap", functionSetting(tpl, id, "Handler"))
				require.Equal(t, []any{"arm64"}, functionSetting(tpl, id, "Architectures"))
				require.Equal(t, "JSON", dig(functionSetting(tpl, id, "LoggingConfig"), "LogFormat"))
			})
			t.Run("main.go", func(t *testing.T) {
				t.Parallel()
				require.FileExists(t, filepath.Join(root, "functions", folder, "main.go"))
			})
			t.Run("make target", func(t *testing.T) {
				t.Parallel()
				artifacts := t.TempDir()
				// A dry run: it proves the target exists and shows what it
				// builds without compiling anything.
				cmd := exec.CommandContext(t.Context(), "make", "-n", "build-"+id, "ARTIFACTS_DIR="+artifacts)
				cmd.Dir = root
				out, err := cmd.CombinedOutput()
				require.NoError(t, err, "make -n build-%s:\n%s", id, out)
				require.Contains(t, string(out), "functions/"+folder, "build-%s must build ./functions/%s", id, folder)
				require.Contains(t, string(out), filepath.Join(artifacts, "bootstrap"), "build-%s must write $(ARTIFACTS_DIR)/bootstrap", id)
			})
		})
	}
}

// (4) The learner's queue: visibility timeout, partial batch failures, DLQ.
func TestFeedbackQueueDelivery(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	const learner = "LearnerFunction"

	var sqsEvents []any
	for _, ev := range dig(tpl.Resources[learner].Properties, "Events").(map[string]any) {
		if dig(ev, "Type") == "SQS" {
			sqsEvents = append(sqsEvents, dig(ev, "Properties"))
		}
	}
	require.Len(t, sqsEvents, 1, "the learner needs one SQS event")
	ev := sqsEvents[0]
	queue, attr, ok := GetAtt(dig(ev, "Queue"))
	require.True(t, ok && attr == "Arn", "the SQS event's Queue must be !GetAtt <Queue>.Arn")
	q := tpl.Resources[queue]
	require.Equal(t, "AWS::SQS::Queue", q.Type)

	timeout, ok := functionSetting(tpl, learner, "Timeout").(float64)
	require.True(t, ok, "the learner needs a Timeout (its own or Globals')")
	visibility, ok := q.Properties["VisibilityTimeout"].(float64)
	require.True(t, ok, "%s needs an explicit VisibilityTimeout", queue)
	require.GreaterOrEqual(t, visibility, 6*timeout, "%s's VisibilityTimeout must be at least 6x the learner's Timeout", queue)

	require.Contains(t, dig(ev, "FunctionResponseTypes"), "ReportBatchItemFailures")
	batch, ok := dig(ev, "BatchSize").(float64)
	require.True(t, ok && batch >= 1 && batch <= 10, "BatchSize %v: above 10 needs a batching window", dig(ev, "BatchSize"))
	require.NotNil(t, dig(ev, "ScalingConfig", "MaximumConcurrency"), "cap the learner's concurrency (Postgres connections)")

	dlq, attr, ok := GetAtt(dig(q.Properties, "RedrivePolicy", "deadLetterTargetArn"))
	require.True(t, ok && attr == "Arn", "%s needs a RedrivePolicy to a dead-letter queue", queue)
	require.Equal(t, "AWS::SQS::Queue", tpl.Resources[dlq].Type)
	receives, ok := dig(q.Properties, "RedrivePolicy", "maxReceiveCount").(float64)
	require.True(t, ok && receives >= 1 && receives <= 1000, "maxReceiveCount %v", receives)
	retention := func(r Resource) float64 {
		if v, ok := r.Properties["MessageRetentionPeriod"].(float64); ok {
			return v
		}
		return 345600 // SQS default, 4 days
	}
	// A moved message keeps its enqueue time, so a shorter DLQ retention loses it.
	require.Greater(t, retention(tpl.Resources[dlq]), retention(q), "the DLQ must keep messages longer than %s", queue)

	alarmed := false
	for _, r := range tpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" || r.Properties["MetricName"] != "ApproximateNumberOfMessagesVisible" {
			continue
		}
		dims, _ := r.Properties["Dimensions"].([]any)
		for _, d := range dims {
			if name, attr, ok := GetAtt(dig(d, "Value")); ok && name == dlq && attr == "QueueName" {
				alarmed = r.Properties["ComparisonOperator"] == "GreaterThanThreshold" && r.Properties["Threshold"] == float64(0)
			}
		}
	}
	require.True(t, alarmed, "an alarm must fire when %s has any visible message", dlq)

	// The producer: Deliver publishes to this queue and may.
	deliver := tpl.Resources["DeliverFunction"].Properties
	ref, _ := Ref(dig(deliver, "Environment", "Variables", "FEEDBACK_QUEUE_URL"))
	require.Equal(t, queue, ref, "DeliverFunction's FEEDBACK_QUEUE_URL must be !Ref %s", queue)
	var sendTo string
	for _, p := range deliver["Policies"].([]any) {
		if name, attr, ok := GetAtt(dig(p, "SQSSendMessagePolicy", "QueueName")); ok && attr == "QueueName" {
			sendTo = name
		}
	}
	require.Equal(t, queue, sendTo, "DeliverFunction needs SQSSendMessagePolicy on %s", queue)
}

// configEnvNames returns every UPPER_CASE string literal passed as the first
// argument of a call in the Go file: the names the config reader reads.
func configEnvNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	require.NoError(t, err)
	envName := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		if s, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(s) {
			names = append(names, s)
		}
		return true
	})
	slices.Sort(names)
	return slices.Compact(names)
}

func envVars(v any) map[string]any {
	m, _ := dig(v, "Environment", "Variables").(map[string]any)
	return m
}

// (5) Every variable the functions read is set in the template, or is local only.
func TestEnvironmentCoversConfig(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	read := configEnvNames(t, configPath)
	require.Greater(t, len(read), 10, "the scan of %s found too few names; has the reader changed shape?", configPath)

	// Not set in AWS, on purpose.
	localOnly := map[string]string{
		"PORT":       "make serve's listen port",
		"QUIRK_SEED": "the procedural provider's default defect table is fine in AWS",
		// In AWS the execution's TimeoutSeconds and the EventBridge rule to
		// ExecutionStatusFunction finalise a stranded execution, and the
		// recalibrate schedule sweeps what never started after the default
		// (at least the execution timeout plus 5 minutes).
		"GENERATION_STALL_TIMEOUT": "make serve's sweeper; AWS keeps the default",
		// In AWS RecalibrateFunction's ScheduleV2 event runs it.
		"RECALIBRATE_INTERVAL": "make serve's recalibration schedule",
		// In AWS operators are a JWT group (OPERATOR_GROUP).
		"OPERATOR_USER_IDS": "the local bearer identities that are operators",
	}
	// Set on these functions only, pointing at a resource of this type.
	perFunction := map[string]struct {
		functions []string
		refType   string
	}{
		// The API starts executions; ExecutionStatusFunction restarts them.
		"STATE_MACHINE_ARN": {[]string{"ApiFunction", "ExecutionStatusFunction"}, "AWS::Serverless::StateMachine"},
		// Deliver publishes outcomes; the API publishes user ratings.
		"FEEDBACK_QUEUE_URL": {[]string{"ApiFunction", "DeliverFunction"}, "AWS::SQS::Queue"},
	}
	// Read by code outside config (provider adapters, the vision judge,
	// system.FromEnv).
	readElsewhere := []string{"VALIDATION_VISION_PROVIDER", "VALIDATION_VISION_MODEL", "VALIDATION_VISION_WEIGHT",
		system.SecretIDsEnv, "AWS_ENDPOINT_URL_SECRETS_MANAGER", system.AllowUnverifiedTLSEnv}
	// Secrets come from Secrets Manager at init (TestSecretsPerFunction),
	// never from the environment.
	secrets := system.SecretNames

	global := envVars(tpl.Globals["Function"])
	setBy := map[string][]string{} // name → "Globals" and/or function ids
	values := map[string]any{}
	for name, v := range global {
		setBy[name] = append(setBy[name], "Globals")
		values[name] = v
	}
	for _, id := range functionIDs(tpl) {
		for name, v := range envVars(tpl.Resources[id].Properties) {
			setBy[name] = append(setBy[name], id)
			values[name] = v
		}
	}

	for _, name := range read {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if slices.Contains(secrets, name) {
				require.Empty(t, setBy[name], "%s is a secret: only in Secrets Manager, never an environment variable", name)
				return
			}
			if why, ok := localOnly[name]; ok {
				require.Empty(t, setBy[name], "%s is listed as local only (%s) but the template sets it", name, why)
				return
			}
			if pf, ok := perFunction[name]; ok {
				require.ElementsMatch(t, pf.functions, setBy[name], "%s must be set on %v only", name, pf.functions)
				ref, ok := Ref(values[name])
				require.True(t, ok, "%s must be a !Ref", name)
				require.Equal(t, pf.refType, tpl.Resources[ref].Type)
				return
			}
			require.Equal(t, []string{"Globals"}, setBy[name], "%s is shared: set it once, in Globals", name)
		})
	}
	for _, name := range slices.Collect(maps.Keys(localOnly)) {
		require.Contains(t, read, name, "localOnly lists %s, which config no longer reads", name)
	}
	for name := range setBy {
		require.True(t, slices.Contains(read, name) || slices.Contains(readElsewhere, name),
			"the template sets %s, which nothing reads (a typo?)", name)
	}
	for _, name := range secrets {
		require.Empty(t, setBy[name], "%s is a secret: only in Secrets Manager, never an environment variable", name)
	}
	for name, v := range values {
		require.NotContains(t, jsonText(t, v), "resolve:secretsmanager", "%s: no dynamic references; functions read secrets at init", name)
	}
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// decodeStrict decodes data into a new T, rejecting unknown fields.
func decodeStrict[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v))
	return v
}

func httpRoutes(tpl Template) []string {
	var routes []string
	for _, ev := range dig(tpl.Resources["ApiFunction"].Properties, "Events").(map[string]any) {
		if dig(ev, "Type") == "HttpApi" {
			routes = append(routes, dig(ev, "Properties", "Method").(string)+" "+dig(ev, "Properties", "Path").(string))
		}
	}
	return routes
}

// requireAPIEvent checks the parts every API event shares and returns it.
func requireAPIEvent(t *testing.T, data []byte) events.APIGatewayV2HTTPRequest {
	t.Helper()
	ev := decodeStrict[events.APIGatewayV2HTTPRequest](t, data)
	require.Equal(t, "2.0", ev.Version)
	require.Contains(t, httpRoutes(testTemplate(t)), ev.RouteKey, "no HttpApi event of ApiFunction serves %s", ev.RouteKey)
	require.Equal(t, ev.RouteKey, ev.RequestContext.RouteKey)
	require.Equal(t, ev.RawPath, ev.RequestContext.HTTP.Path)
	require.NotNil(t, ev.RequestContext.Authorizer)
	require.NotNil(t, ev.RequestContext.Authorizer.JWT, "the JWT authorizer's context carries the user")
	require.NotEmpty(t, ev.RequestContext.Authorizer.JWT.Claims["sub"])
	if ev.Body != "" {
		require.Equal(t, strconv.Itoa(len(apiBody(t, ev))), ev.Headers["content-length"])
	}
	return ev
}

func apiBody(t *testing.T, ev events.APIGatewayV2HTTPRequest) []byte {
	t.Helper()
	if !ev.IsBase64Encoded {
		return []byte(ev.Body)
	}
	b, err := base64.StdEncoding.DecodeString(ev.Body)
	require.NoError(t, err)
	return b
}

func requirePNG(t *testing.T, data []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	colours := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	require.GreaterOrEqual(t, len(colours), 3, "the reference image should have a few colours")
}

func requireSettings(t *testing.T, raw []byte) {
	t.Helper()
	_, err := generation.ParseSettings(raw, generation.Defaults{TargetConfidence: 0.95, Provider: generation.DefaultProvider})
	require.NoError(t, err)
}

// feedbackOutcomes decodes each record's body the way the learner does and
// reports which are valid FeedbackEvents.
func feedbackOutcomes(t *testing.T, ev events.SQSEvent) []bool {
	t.Helper()
	var ok []bool
	for _, r := range ev.Records {
		sum := md5.Sum([]byte(r.Body))
		require.Equal(t, hex.EncodeToString(sum[:]), r.Md5OfBody, "md5OfBody of %s", r.MessageId)
		require.Equal(t, "aws:sqs", r.EventSource)
		require.True(t, generation.IsUUID(r.MessageId))
		var fe generation.FeedbackEvent
		dec := json.NewDecoder(strings.NewReader(r.Body))
		dec.DisallowUnknownFields()
		err := dec.Decode(&fe)
		if err == nil {
			err = fe.Validate()
		}
		ok = append(ok, err == nil)
	}
	return ok
}

// (6) Every events/<fn>/ folder belongs to a function, and each event has
// the shape its function receives.
func TestEvents(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(eventsDir)
	require.NoError(t, err)
	folders := slices.Collect(maps.Values(functionFolders))
	var have []string
	for _, e := range entries {
		require.True(t, e.IsDir(), "events/%s: events live in events/<function>/", e.Name())
		require.Contains(t, folders, e.Name(), "events/%s matches no function", e.Name())
		have = append(have, e.Name())
		files, err := os.ReadDir(filepath.Join(eventsDir, e.Name()))
		require.NoError(t, err)
		require.NotEmpty(t, files, "events/%s is empty", e.Name())
		for _, f := range files {
			require.Equal(t, ".json", filepath.Ext(f.Name()), "events/%s/%s", e.Name(), f.Name())
			data, err := os.ReadFile(filepath.Join(eventsDir, e.Name(), f.Name()))
			require.NoError(t, err)
			require.True(t, json.Valid(data), "events/%s/%s is not JSON", e.Name(), f.Name())
		}
	}
	require.ElementsMatch(t, folders, have, "every function needs sample events")

	tests := []struct {
		name  string
		file  string
		check func(t *testing.T, data []byte)
	}{
		{name: "plan round 1", file: "plan/round1.json", check: func(t *testing.T, data []byte) {
			in := decodeStrict[stage.RoundInput](t, data)
			require.True(t, generation.IsUUID(in.GenerationID))
			require.Equal(t, 1, in.Round)
		}},
		{name: "plan top-up", file: "plan/topup.json", check: func(t *testing.T, data []byte) {
			in := decodeStrict[stage.RoundInput](t, data)
			require.True(t, generation.IsUUID(in.GenerationID))
			require.Greater(t, in.Round, 1)
		}},
		{name: "generate", file: "generate/candidate.json", check: func(t *testing.T, data []byte) {
			in := decodeStrict[stage.CandidateInput](t, data)
			require.True(t, generation.IsUUID(in.GenerationID) && generation.IsUUID(in.CandidateID))
		}},
		{name: "validate gets GenerateImage's output", file: "validate/candidate.json", check: func(t *testing.T, data []byte) {
			in := decodeStrict[stage.GenerateOutput](t, data)
			require.True(t, generation.IsUUID(in.GenerationID) && generation.IsUUID(in.CandidateID))
			require.True(t, in.Stored, "only stored candidates reach ValidateImage")
		}},
		{name: "select", file: "select/round.json", check: func(t *testing.T, data []byte) {
			in := decodeStrict[stage.RoundInput](t, data)
			require.True(t, generation.IsUUID(in.GenerationID))
			require.GreaterOrEqual(t, in.Round, 1)
		}},
		{name: "deliver", file: "deliver/generation.json", check: func(t *testing.T, data []byte) {
			in := decodeStrict[stage.DeliverInput](t, data)
			require.True(t, generation.IsUUID(in.GenerationID))
		}},
		{name: "mark candidate failed", file: "markfailed/candidate.json", check: func(t *testing.T, data []byte) {
			in := decodeStrict[stage.MarkFailedInput](t, data)
			require.True(t, generation.IsUUID(in.CandidateID))
			requireLambdaCause(t, in.Error)
		}},
		{name: "mark generation failed", file: "markfailed/generation.json", check: func(t *testing.T, data []byte) {
			in := decodeStrict[stage.MarkFailedInput](t, data)
			require.True(t, generation.IsUUID(in.GenerationID))
			require.Empty(t, in.CandidateID)
			requireLambdaCause(t, in.Error)
		}},
		{name: "learner batch", file: "learner/batch.json", check: func(t *testing.T, data []byte) {
			ev := decodeStrict[events.SQSEvent](t, data)
			require.Equal(t, []bool{true, true, true, false}, feedbackOutcomes(t, ev), "three FeedbackEvents, then a malformed body")
		}},
		{name: "learner poison", file: "learner/poison.json", check: func(t *testing.T, data []byte) {
			ev := decodeStrict[events.SQSEvent](t, data)
			require.Equal(t, []bool{false}, feedbackOutcomes(t, ev))
		}},
		{name: "recalibrate schedule", file: "recalibrate/schedule.json", check: func(t *testing.T, data []byte) {
			ev := decodeStrict[events.EventBridgeEvent](t, data)
			require.False(t, ev.Time.IsZero())
			// The file is the template's Scheduler Input with its context
			// attributes filled in, so the two have the same fields.
			var input string
			for _, e := range dig(testTemplate(t).Resources["RecalibrateFunction"].Properties, "Events").(map[string]any) {
				if dig(e, "Type") == "ScheduleV2" {
					input, _ = dig(e, "Properties", "Input", "Fn::Sub").(string)
				}
			}
			require.NotEmpty(t, input, "RecalibrateFunction's ScheduleV2 event needs an Input (!Sub)")
			input = strings.NewReplacer("${AWS::AccountId}", DummyAccount, "${AWS::Region}", DummyRegion).Replace(input)
			var want, got map[string]any
			require.NoError(t, json.Unmarshal([]byte(input), &want), "the Scheduler Input is not JSON")
			require.NoError(t, json.Unmarshal(data, &got))
			require.ElementsMatch(t, slices.Collect(maps.Keys(want)), slices.Collect(maps.Keys(got)))
		}},
		{name: "execution failed", file: "executionstatus/failed.json", check: func(t *testing.T, data []byte) {
			d := requireExecutionStatusEvent(t, data, "FAILED")
			require.NotNil(t, d.Error)
			requireLambdaCause(t, stage.StateError{Error: *d.Error, Cause: *d.Cause})
		}},
		{name: "execution timed out", file: "executionstatus/timed-out.json", check: func(t *testing.T, data []byte) {
			d := requireExecutionStatusEvent(t, data, "TIMED_OUT")
			require.Equal(t, "States.Timeout", *d.Error)
		}},
		{name: "execution aborted", file: "executionstatus/aborted.json", check: func(t *testing.T, data []byte) {
			d := requireExecutionStatusEvent(t, data, "ABORTED")
			require.Nil(t, d.Error)
		}},
		{name: "api create JSON", file: "api/create-json.json", check: func(t *testing.T, data []byte) {
			ev := requireAPIEvent(t, data)
			require.Equal(t, "application/json", ev.Headers["content-type"])
			body := decodeStrict[struct {
				Image    string          `json:"image"`
				Settings json.RawMessage `json:"settings"`
			}](t, apiBody(t, ev))
			img, err := base64.StdEncoding.DecodeString(body.Image)
			require.NoError(t, err)
			requirePNG(t, img)
			requireSettings(t, body.Settings)
		}},
		{name: "api create multipart", file: "api/create-multipart.json", check: func(t *testing.T, data []byte) {
			ev := requireAPIEvent(t, data)
			require.True(t, ev.IsBase64Encoded, "API Gateway base64-encodes multipart bodies")
			mt, params, err := mime.ParseMediaType(ev.Headers["content-type"])
			require.NoError(t, err)
			require.Equal(t, "multipart/form-data", mt)
			parts := map[string][]byte{}
			mr := multipart.NewReader(bytes.NewReader(apiBody(t, ev)), params["boundary"])
			for {
				p, err := mr.NextPart()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				b, err := io.ReadAll(p)
				require.NoError(t, err)
				parts[p.FormName()] = b
			}
			require.ElementsMatch(t, []string{"image", "settings"}, slices.Collect(maps.Keys(parts)))
			requirePNG(t, parts["image"])
			requireSettings(t, parts["settings"])
		}},
		{name: "api get", file: "api/get.json", check: func(t *testing.T, data []byte) {
			ev := requireAPIEvent(t, data)
			id := ev.PathParameters["id"]
			require.True(t, generation.IsUUID(id))
			require.Equal(t, "/v1/generations/"+id, ev.RawPath)
			require.Empty(t, ev.Body)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(eventsDir, tt.file))
			require.NoError(t, err)
			tt.check(t, data)
		})
	}
}

// requireExecutionStatusEvent checks an EventBridge "Step Functions
// Execution Status Change" event against ExecutionStatusFunction's rule and
// returns its detail.
func requireExecutionStatusEvent(t *testing.T, data []byte, status string) stage.ExecutionStatusDetail {
	t.Helper()
	ev := decodeStrict[events.EventBridgeEvent](t, data)
	pattern := dig(testTemplate(t).Resources["ExecutionStatusFunction"].Properties, "Events", "ExecutionEnded", "Properties", "Pattern")
	require.NotNil(t, pattern, "ExecutionStatusFunction needs an EventBridgeRule event ExecutionEnded")
	require.Equal(t, "EventBridgeRule", dig(testTemplate(t).Resources["ExecutionStatusFunction"].Properties, "Events", "ExecutionEnded", "Type"))
	require.Contains(t, dig(pattern, "source"), ev.Source)
	require.Contains(t, dig(pattern, "detail-type"), ev.DetailType)
	require.Contains(t, dig(pattern, "detail", "status"), status)
	smRef, _ := Ref(dig(pattern, "detail", "stateMachineArn").([]any)[0])
	require.Equal(t, "AWS::Serverless::StateMachine", testTemplate(t).Resources[smRef].Type, "the rule is scoped to the state machine")
	var d stage.ExecutionStatusDetail
	require.NoError(t, json.Unmarshal(ev.Detail, &d))
	require.Equal(t, status, d.Status)
	id, attempt, ok := generation.ParseExecutionName(d.Name)
	require.True(t, ok, "the execution is named after the generation")
	require.Equal(t, 1, attempt)
	require.True(t, strings.HasSuffix(d.ExecutionARN, ":"+d.Name))
	require.Equal(t, []string{d.ExecutionARN}, ev.Resources)
	var in struct{ GenerationID string }
	require.NoError(t, json.Unmarshal([]byte(d.Input), &in))
	require.Equal(t, id, in.GenerationID)
	return d
}

// requireLambdaCause checks a Catch's error object as Lambda fills it: the
// Go type name as Error, and a Cause holding the same errorType.
func requireLambdaCause(t *testing.T, e stage.StateError) {
	t.Helper()
	require.NotEmpty(t, e.Error)
	var cause struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	require.NoError(t, json.Unmarshal([]byte(e.Cause), &cause))
	require.Equal(t, e.Error, cause.ErrorType)
	require.NotEmpty(t, cause.ErrorMessage)
}

// (7) The definition, rendered as AWS renders it, is JSON with real values.
func TestRenderDefinition(t *testing.T) {
	t.Parallel()
	subs, err := DummySubstitutions(templatePath)
	require.NoError(t, err)
	require.Equal(t, "10", subs["MapMaxConcurrency"])
	require.Equal(t, "arn:aws:lambda:eu-west-1:123456789012:function:plan", subs["PlanFunctionArn"])

	rendered, err := RenderDefinition(readDefinition(t), subs)
	require.NoError(t, err)
	require.NotContains(t, string(rendered), "${")
	var def map[string]any
	require.NoError(t, json.Unmarshal(rendered, &def))
	require.Equal(t, float64(10), dig(def, "States", "GenerateAndValidate", "MaxConcurrency"))
	tasks := taskResources(t, rendered)
	require.NotEmpty(t, tasks)
	for state, res := range tasks {
		require.Regexp(t, `^arn:aws:lambda:eu-west-1:123456789012:function:[a-z]+$`, res, "state %s", state)
	}
}

func TestRenderDefinitionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		def     string
		subs    map[string]string
		want    string
		wantErr string
	}{
		{name: "number position", def: `{"N": ${N}, "R": "${R}"}`, subs: map[string]string{"N": "3", "R": "arn:x"}, want: `{"N": 3, "R": "arn:x"}`},
		{name: "unused substitution is fine", def: `{"N": ${N}}`, subs: map[string]string{"N": "3", "X": "y"}, want: `{"N": 3}`},
		{name: "missing substitution", def: `{"N": ${N}, "R": "${R}", "S": "${R}"}`, subs: map[string]string{"N": "1"}, wantErr: "no substitution for R"},
		{name: "not JSON after substitution", def: `{"N": ${N}}`, subs: map[string]string{"N": "ten"}, wantErr: "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := RenderDefinition([]byte(tt.def), tt.subs)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
		})
	}
}

func TestDummySubstitutions(t *testing.T) {
	t.Parallel()
	const head = "Parameters:\n  Limit: {Type: Number, Default: 7}\n  NoDefault: {Type: String}\n" +
		"Resources:\n  WorkFunction: {Type: AWS::Serverless::Function}\n  Queue: {Type: AWS::SQS::Queue}\n" +
		"  Machine:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      DefinitionSubstitutions:\n"
	tests := []struct {
		name    string
		subs    string
		want    map[string]string
		wantErr string
	}{
		{name: "function ARN, parameter default, literal", subs: "        Work: !GetAtt WorkFunction.Arn\n        Limit: !Ref Limit\n        Name: literal\n",
			want: map[string]string{"Work": "arn:aws:lambda:eu-west-1:123456789012:function:work", "Limit": "7", "Name": "literal"}},
		{name: "parameter without default", subs: "        X: !Ref NoDefault\n", wantErr: "no Default"},
		{name: "attribute of another resource", subs: "        X: !GetAtt Queue.Arn\n", wantErr: "only a function's Arn"},
		{name: "unknown resource", subs: "        X: !GetAtt Gone.Arn\n", wantErr: "no such resource"},
		{name: "other intrinsic", subs: "        X: !Sub '${AWS::Region}'\n", wantErr: "unsupported value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "template.yaml")
			require.NoError(t, os.WriteFile(path, []byte(head+tt.subs), 0o600))
			got, err := DummySubstitutions(path)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// placeholders lists the distinct ${Name} placeholders of a definition, sorted.
func placeholders(definition []byte) []string {
	var names []string
	for _, m := range statemachine.Placeholder.FindAllSubmatch(definition, -1) {
		names = append(names, string(m[1]))
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// LOG_LEVEL and Lambda's own filter come from one parameter, so the level an
// operator picks is the one the code logs at.
func TestLogLevelIsOneParameter(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	logLevel, ok := Ref(envVars(tpl.Globals["Function"])["LOG_LEVEL"])
	require.True(t, ok, "LOG_LEVEL must be a !Ref in Globals")
	filter, ok := Ref(dig(tpl.Globals, "Function", "LoggingConfig", "ApplicationLogLevel"))
	require.True(t, ok, "ApplicationLogLevel must be a !Ref")
	require.Equal(t, logLevel, filter)
	require.Equal(t, "JSON", dig(tpl.Globals, "Function", "LoggingConfig", "LogFormat"), "system.LambdaLogger writes JSON")
}

// A deployment names its provider: the Provider parameter has no default,
// so procedural (the local default) is never deployed by omission.
func TestProviderHasNoDefault(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	require.Equal(t, map[string]any{"Ref": "Provider"}, envVars(tpl.Globals["Function"])["PROVIDER"])
	param, ok := tpl.Parameters["Provider"]
	require.True(t, ok, "template.yaml needs a Provider parameter")
	_, hasDefault := param["Default"]
	require.False(t, hasDefault, "the Provider parameter must have no default")
}
