package sam

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/config"
	"github.com/designerbff/pipeline/shared/system"
)

// The deployed surface is the tested surface: what the code serves, reads
// and may fail at is what template.yaml deploys, exposes, grants and
// watches.

// secretKeys is what each secret (<SecretPrefix>/<name>) holds, as the
// SecretPrefix parameter documents it.
var secretKeys = map[string][]string{
	"database":  {"DATABASE_URL"},
	"r2":        {"R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"},
	"api":       {"GENERATION_ID_SECRET"},
	"openai":    {"OPENAI_API_KEY"},
	"gemini":    {"GEMINI_API_KEY"},
	"stability": {"STABILITY_API_KEY"},
	"replicate": {"REPLICATE_API_TOKEN"},
	"webhook":   {"WEBHOOK_SIGNING_SECRET"},
}

// resolveIf evaluates every Fn::If under the given conditions, dropping
// AWS::NoValue from lists, as CloudFormation does.
func resolveIf(v any, conds map[string]bool) any {
	switch v := v.(type) {
	case map[string]any:
		if args, ok := v["Fn::If"].([]any); ok && len(v) == 1 && len(args) == 3 {
			name, _ := args[0].(string)
			on, known := conds[name]
			if !known {
				panic("resolveIf: unknown condition " + name)
			}
			if on {
				return resolveIf(args[1], conds)
			}
			return resolveIf(args[2], conds)
		}
		out := map[string]any{}
		for k, x := range v {
			out[k] = resolveIf(x, conds)
		}
		return out
	case []any:
		var out []any
		for _, x := range v {
			if r := resolveIf(x, conds); r != nil {
				if ref, ok := Ref(r); !ok || ref != "AWS::NoValue" {
					out = append(out, r)
				}
			}
		}
		return out
	}
	return v
}

var (
	secretIDRef  = regexp.MustCompile(`^\$\{SecretPrefix\}/([a-z0-9]+|\$\{ValidationVisionProvider\})$`)
	secretARNRef = regexp.MustCompile(`^arn:\$\{AWS::Partition\}:secretsmanager:\$\{AWS::Region\}:\$\{AWS::AccountId\}:secret:\$\{SecretPrefix\}/([a-z0-9]+|\$\{ValidationVisionProvider\})-\?\?\?\?\?\?$`)
)

// functionSecrets returns the secrets a function's SECRET_IDS names and the
// secrets its policies let it read, with the judge's provider filled in.
func functionSecrets(t *testing.T, tpl Template, id string, conds map[string]bool, judge string) (named, granted []string) {
	t.Helper()
	props := resolveIf(tpl.Resources[id].Properties, conds)
	ids, _ := dig(envVars(props)[system.SecretIDsEnv], "Fn::Sub").(string)
	require.NotEmpty(t, ids, "%s needs SECRET_IDS as a !Sub of ${SecretPrefix}/<name>s", id)
	for part := range strings.SplitSeq(ids, ",") {
		m := secretIDRef.FindStringSubmatch(part)
		require.NotNil(t, m, "%s: SECRET_IDS entry %q is not ${SecretPrefix}/<name>", id, part)
		named = append(named, strings.ReplaceAll(m[1], "${ValidationVisionProvider}", judge))
	}
	for _, st := range policyStatements(tpl, id, conds) {
		text := jsonText(t, dig(st, "Action"))
		if !strings.Contains(text, "secretsmanager") {
			continue
		}
		require.Equal(t, "secretsmanager:GetSecretValue", dig(st, "Action"), "%s: read secrets only", id)
		resources, _ := dig(st, "Resource").([]any)
		for _, r := range resources {
			arn, _ := dig(r, "Fn::Sub").(string)
			m := secretARNRef.FindStringSubmatch(arn)
			require.NotNil(t, m, "%s: secret resource %v is not one secret's ARN", id, r)
			granted = append(granted, strings.ReplaceAll(m[1], "${ValidationVisionProvider}", judge))
		}
	}
	slices.Sort(named)
	slices.Sort(granted)
	return named, granted
}

// policyStatements are the IAM statements a function's role holds: its
// Policies' statements, or those of its own Role (AWS::IAM::Role).
func policyStatements(tpl Template, id string, conds map[string]bool) []any {
	props, _ := resolveIf(tpl.Resources[id].Properties, conds).(map[string]any)
	var out []any
	if role, attr, ok := GetAtt(props["Role"]); ok && attr == "Arn" {
		rp := resolveIf(tpl.Resources[role].Properties, conds)
		policies, _ := dig(rp, "Policies").([]any)
		for _, p := range policies {
			st, _ := dig(p, "PolicyDocument", "Statement").([]any)
			out = append(out, st...)
		}
		return out
	}
	policies, _ := props["Policies"].([]any)
	for _, p := range policies {
		st, _ := dig(p, "Statement").([]any)
		out = append(out, st...)
	}
	return out
}

// The learner may poll only its queue: its own role (SAM's SQS event would
// attach AWSLambdaSQSQueueExecutionRole, whose sqs actions are on "*"),
// with the queue actions on FeedbackQueue alone.
func TestLearnerQueuePermissionsAreScoped(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	const learner = "LearnerFunction"
	role, attr, ok := GetAtt(tpl.Resources[learner].Properties["Role"])
	require.True(t, ok && attr == "Arn", "%s needs its own Role", learner)
	require.Equal(t, "AWS::IAM::Role", tpl.Resources[role].Type)
	require.NotContains(t, jsonText(t, tpl.Resources[role].Properties), "SQSQueueExecutionRole")
	require.Nil(t, tpl.Resources[learner].Properties["Policies"], "with a Role, SAM ignores Policies")
	for _, vpc := range []bool{false, true} {
		polls := false
		for _, st := range policyStatements(tpl, learner, map[string]bool{"HasVpc": vpc, "HasVisionJudge": false, "HasAlarmTopic": false}) {
			actions := jsonText(t, dig(st, "Action"))
			require.NotContains(t, actions, "*", "no wildcard actions")
			if !strings.Contains(actions, "sqs:") {
				continue
			}
			queue, attr, ok := GetAtt(dig(st, "Resource"))
			require.True(t, ok && attr == "Arn" && queue == "FeedbackQueue", "sqs actions only on FeedbackQueue, got %v", dig(st, "Resource"))
			polls = strings.Contains(actions, "sqs:ReceiveMessage") && strings.Contains(actions, "sqs:DeleteMessage") && strings.Contains(actions, "sqs:GetQueueAttributes")
		}
		require.True(t, polls, "the event source mapping needs ReceiveMessage, DeleteMessage and GetQueueAttributes on the queue")
	}
	managed := jsonText(t, resolveIf(tpl.Resources[role].Properties["ManagedPolicyArns"], map[string]bool{"HasVpc": true}))
	require.Contains(t, managed, "AWSLambdaBasicExecutionRole")
	require.Contains(t, managed, "AWSLambdaVPCAccessExecutionRole", "in a VPC the learner needs its network interfaces")
}

// Each function reads, and may read, only the secrets it uses: R2 keys
// where images are touched, provider keys in generate, the judge's key in
// validate only when a judge is configured, GENERATION_ID_SECRET in the API.
func TestSecretsPerFunction(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	// R2: the Pipeline's object store calls are Generate (reference, Put),
	// Validate (Get) and MarkCandidateErrored (Delete), and the API stores
	// references and presigns URLs; the others never touch an image.
	uses := map[string][]string{
		"ApiFunction":             {"database", "r2", "api"},
		"PlanFunction":            {"database"},
		"GenerateFunction":        {"database", "r2", "openai", "gemini", "stability", "replicate"},
		"ValidateFunction":        {"database", "r2"},
		"SelectFunction":          {"database"},
		"DeliverFunction":         {"database", "webhook"},
		"MarkFailedFunction":      {"database", "r2"},
		"LearnerFunction":         {"database"},
		"RecalibrateFunction":     {"database", "webhook"},
		"ExecutionStatusFunction": {"database"},
	}
	require.ElementsMatch(t, functionIDs(tpl), slices.Collect(maps.Keys(uses)), "every function needs a row")

	judges, _ := tpl.Parameters["ValidationVisionProvider"]["AllowedValues"].([]any)
	require.NotEmpty(t, judges)
	for _, j := range judges {
		judge, _ := j.(string)
		conds := map[string]bool{"HasVisionJudge": judge != "", "HasAlarmTopic": false, "HasVpc": false}
		for id, want := range uses {
			t.Run(fmt.Sprintf("%s judge=%q", id, judge), func(t *testing.T) {
				t.Parallel()
				if id == "ValidateFunction" && judge != "" {
					want = slices.Sorted(slices.Values(append(slices.Clone(want), judge)))
				}
				want = slices.Sorted(slices.Values(want))
				named, granted := functionSecrets(t, tpl, id, conds, judge)
				require.Equal(t, want, named, "%s's SECRET_IDS", id)
				require.Equal(t, want, granted, "%s may read exactly the secrets it names", id)
				for _, s := range named {
					require.Contains(t, secretKeys, s, "secret %s is not documented", s)
				}
			})
		}
	}
	// The SecretPrefix parameter documents every secret and its keys.
	desc, _ := tpl.Parameters["SecretPrefix"]["Description"].(string)
	for name, keys := range secretKeys {
		require.Contains(t, desc, "<prefix>/"+name+" {"+strings.Join(keys, ", ")+"}")
	}
	var all []string
	for _, keys := range secretKeys {
		all = append(all, keys...)
	}
	require.ElementsMatch(t, system.SecretNames, all, "system.SecretNames and the secrets' keys differ")
}

// Local-only switches are declared (sam local can only set declared
// variables) and off in the template.
func TestLocalSwitchesAreOff(t *testing.T) {
	t.Parallel()
	global := envVars(testTemplate(t).Globals["Function"])
	require.Equal(t, "false", global[system.AllowUnverifiedTLSEnv], "a deployed function verifies the database's certificate")
	require.Equal(t, "", global["AWS_ENDPOINT_URL_SECRETS_MANAGER"], "a deployed function reads the real Secrets Manager")
}

// The VPC is optional: VpcConfig only when VpcSubnetIds is set.
func TestOptionalVPC(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	vpc := dig(tpl.Globals, "Function", "VpcConfig")
	on := resolveIf(map[string]any{"v": vpc}, map[string]bool{"HasVpc": true})
	require.Equal(t, map[string]any{"SubnetIds": map[string]any{"Ref": "VpcSubnetIds"}, "SecurityGroupIds": map[string]any{"Ref": "VpcSecurityGroupIds"}}, dig(on, "v"))
	off := resolveIf(map[string]any{"v": vpc}, map[string]bool{"HasVpc": false})
	require.Equal(t, map[string]any{"Ref": "AWS::NoValue"}, dig(off, "v"))
	for _, p := range []string{"VpcSubnetIds", "VpcSecurityGroupIds"} {
		require.Equal(t, "", tpl.Parameters[p]["Default"], "%s is optional", p)
	}
}

// routerRoutes are the patterns registered on a mux in shared/httpapi's
// non-test files (mux.HandleFunc("GET /path", …)).
func routerRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "shared", "httpapi", "*.go"))
	require.NoError(t, err)
	var routes []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			require.True(t, ok && lit.Kind == token.STRING, "%s: register routes with a literal pattern, so this test sees them", path)
			pattern, err := strconv.Unquote(lit.Value)
			require.NoError(t, err)
			routes = append(routes, pattern)
			return true
		})
	}
	return routes
}

// Every route the router serves has its HttpApi event (API Gateway answers
// 404 for any other), and every event reaches a route.
func TestRoutesAreDeployed(t *testing.T) {
	t.Parallel()
	served := routerRoutes(t)
	require.GreaterOrEqual(t, len(served), 7, "the scan of shared/httpapi found too few routes")
	require.ElementsMatch(t, served, httpRoutes(testTemplate(t)), "the router's routes and ApiFunction's HttpApi events differ")
}

func alarmActionsOnTopic(t *testing.T, id string, r Resource) {
	t.Helper()
	want := map[string]any{"Fn::If": []any{"HasAlarmTopic", []any{map[string]any{"Ref": "AlarmTopicArn"}}, map[string]any{"Ref": "AWS::NoValue"}}}
	require.Equal(t, want, r.Properties["AlarmActions"], "%s notifies AlarmTopicArn when set", id)
}

// Every function's log group is declared with a retention, the HTTP API
// logs its requests, and every failure the pipeline can have is alarmed on
// AlarmTopicArn.
func TestLogsAndAlarms(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	require.Equal(t, map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AlarmTopicArn"}, ""}}}},
		tpl.Conditions["HasAlarmTopic"])

	logGroups := map[string]string{} // LogGroupName (as written) → logical id
	type metricKey struct{ namespace, metric, dimension, target string }
	alarms := map[metricKey]bool{}
	for id, r := range tpl.Resources {
		switch r.Type {
		case "AWS::Logs::LogGroup":
			require.Equal(t, map[string]any{"Ref": "LogRetentionDays"}, r.Properties["RetentionInDays"], "%s needs the retention", id)
			name, _ := dig(r.Properties, "LogGroupName", "Fn::Sub").(string)
			logGroups[name] = id
		case "AWS::CloudWatch::Alarm":
			alarmActionsOnTopic(t, id, r)
			if _, ok := r.Properties["Metrics"]; ok {
				continue // a domain alarm on metric math: TestDomainAlarms
			}
			dims, _ := r.Properties["Dimensions"].([]any)
			require.Len(t, dims, 1, "%s", id)
			target, ok := Ref(dig(dims[0], "Value"))
			if !ok {
				target, _, _ = GetAtt(dig(dims[0], "Value"))
			}
			ns, _ := r.Properties["Namespace"].(string)
			metric, _ := r.Properties["MetricName"].(string)
			dim, _ := dig(dims[0], "Name").(string)
			alarms[metricKey{ns, metric, dim, target}] = true
			require.Equal(t, "GreaterThanThreshold", r.Properties["ComparisonOperator"], "%s", id)
			require.Equal(t, float64(0), r.Properties["Threshold"], "%s: one is already too many", id)
		}
	}
	for _, fn := range functionIDs(tpl) {
		require.Contains(t, logGroups, "/aws/lambda/${"+fn+"}", "declare %s's log group, or Lambda creates one that never expires", fn)
		for _, metric := range []string{"Errors", "Throttles"} {
			require.True(t, alarms[metricKey{"AWS/Lambda", metric, "FunctionName", fn}], "no %s alarm for %s", metric, fn)
		}
	}
	smID, _, err := tpl.StateMachine()
	require.NoError(t, err)
	for _, metric := range []string{"ExecutionsFailed", "ExecutionsTimedOut"} {
		require.True(t, alarms[metricKey{"AWS/States", metric, "StateMachineArn", smID}], "no %s alarm", metric)
	}
	require.True(t, alarms[metricKey{"AWS/ApiGateway", "5xx", "ApiId", "HttpApi"}], "no API 5xx alarm")
	require.True(t, alarms[metricKey{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "FeedbackDLQ"}], "no DLQ depth alarm")

	api := tpl.Resources["HttpApi"].Properties
	dest, attr, ok := GetAtt(dig(api, "AccessLogSettings", "DestinationArn"))
	require.True(t, ok && attr == "Arn", "HttpApi needs AccessLogSettings to a declared log group")
	require.Equal(t, "AWS::Logs::LogGroup", tpl.Resources[dest].Type)
	format, _ := dig(api, "AccessLogSettings", "Format").(string)
	require.Contains(t, format, "$context.requestId")
	require.Contains(t, format, "$context.status")
}

// PresignExpiry's AllowedPattern accepts only what config accepts for
// PRESIGN_EXPIRY, so a deploy never starts functions that refuse it; for
// whole numbers of s, m or h (the form the parameter documents) the two
// agree exactly. Compound durations (1h30m) config takes locally; the
// template asks for 90m.
func TestPresignExpiryPatternMatchesConfig(t *testing.T) {
	t.Parallel()
	raw, _ := testTemplate(t).Parameters["PresignExpiry"]["AllowedPattern"].(string)
	pattern := regexp.MustCompile(raw)
	configAccepts := func(v string) bool {
		_, err := config.Load(func(k string) string {
			if k == "PRESIGN_EXPIRY" {
				return v
			}
			return ""
		})
		return err == nil
	}
	var whole []string
	limits := map[string]int{"s": 7 * 24 * 3600, "m": 7 * 24 * 60, "h": 7 * 24}
	for unit, limit := range limits {
		for n := range 200 {
			whole = append(whole, strconv.Itoa(n)+unit)
		}
		for n := limit - 3; n <= limit+3; n++ {
			whole = append(whole, strconv.Itoa(n)+unit)
		}
		for _, n := range []int{999, 1000, 1001, 9999, 10000, 10079, 59999, 60000, 99999, 100000, 599999, 600000, 603999, 604000, 1 << 40} {
			whole = append(whole, strconv.Itoa(n)+unit)
		}
	}
	for _, v := range whole {
		require.Equal(t, configAccepts(v), pattern.MatchString(v), "PRESIGN_EXPIRY=%s", v)
	}
	for _, v := range []string{"", "1", "h", "01h", "1h30m", "1.5h", "90m0s", "3600000ms", "-1h", "+1h", " 1h", "1h ", "1d", "1H", "169h"} {
		if pattern.MatchString(v) {
			require.True(t, configAccepts(v), "the pattern accepts %q, which config refuses", v)
		}
	}
	require.True(t, pattern.MatchString(testTemplate(t).Parameters["PresignExpiry"]["Default"].(string)))
}
