package sam

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

// metricsNamespace is the namespace template.yaml gives the functions
// (METRICS_NAMESPACE) and reads in its dashboard and alarms.
const metricsNamespace = "DesignerBFF/${AWS::StackName}"

var substitution = regexp.MustCompile(`\$\{([^}]+)\}`)

// dashboardWidgets decodes the one dashboard's body with every ${…}
// substitution checked (a resource, a parameter or a pseudo parameter) and
// replaced by its text, so the domain namespace reads as metricsNamespace.
func dashboardWidgets(t *testing.T, tpl Template) []map[string]any {
	t.Helper()
	var bodies []string
	for id, r := range tpl.Resources {
		if r.Type == "AWS::CloudWatch::Dashboard" {
			body, ok := dig(r.Properties, "DashboardBody", "Fn::Sub").(string)
			require.True(t, ok, "%s's DashboardBody is one !Sub string", id)
			bodies = append(bodies, body)
		}
	}
	require.Len(t, bodies, 1, "one operations dashboard")
	for _, m := range substitution.FindAllStringSubmatch(bodies[0], -1) {
		name, _, _ := strings.Cut(m[1], ".")
		_, isResource := tpl.Resources[name]
		_, isParameter := tpl.Parameters[name]
		require.True(t, isResource || isParameter || strings.HasPrefix(name, "AWS::"), "the dashboard substitutes ${%s}, which the template does not declare", m[1])
	}
	var body struct {
		Widgets []map[string]any `json:"widgets"`
	}
	require.NoError(t, json.Unmarshal([]byte(bodies[0]), &body), "DashboardBody is JSON")
	return body.Widgets
}

var searchMetric = regexp.MustCompile(`SEARCH\('\{"([^"]+)",(\w+)\} MetricName="(\w+)"'`)

// The dashboard shows every metric the functions write and no other in
// their namespace (both come from generation.Metrics), plus the Lambda,
// Step Functions, SQS and API Gateway built-ins.
func TestDashboard(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	require.Equal(t, map[string]any{"Fn::Sub": metricsNamespace}, dig(tpl.Globals, "Function", "Environment", "Variables", "METRICS_NAMESPACE"),
		"the functions write the namespace the dashboard reads")

	domain := map[string]bool{}
	builtin := map[string]map[string]bool{} // namespace → metric names
	lambdaErrors := map[string]bool{}       // functions on the Errors graph
	for _, w := range dashboardWidgets(t, tpl) {
		if w["type"] != "metric" {
			continue
		}
		props, _ := w["properties"].(map[string]any)
		entries, _ := props["metrics"].([]any)
		require.NotEmpty(t, entries, "widget %v has metrics", props["title"])
		for _, e := range entries {
			entry, _ := e.([]any)
			require.NotEmpty(t, entry)
			if opts, ok := entry[0].(map[string]any); ok { // [{expression}]
				expr, _ := opts["expression"].(string)
				require.NotEmpty(t, expr)
				for _, m := range searchMetric.FindAllStringSubmatch(expr, -1) {
					require.Equal(t, metricsNamespace, m[1])
					def, ok := generation.MetricNamed(m[3])
					require.True(t, ok, "the dashboard searches %s, which the code does not write", m[3])
					require.Equal(t, def.Dimension, m[2], "%s is written by its dimension %q", m[3], def.Dimension)
					domain[m[3]] = true
				}
				continue
			}
			ns, _ := entry[0].(string)
			name, _ := entry[1].(string)
			if ns == metricsNamespace {
				def, ok := generation.MetricNamed(name)
				require.True(t, ok, "the dashboard graphs %s, which the code does not write", name)
				require.Empty(t, def.Dimension, "%s has a dimension: graph it with a SEARCH", name)
				domain[name] = true
				continue
			}
			require.True(t, strings.HasPrefix(ns, "AWS/"), "unknown namespace %q", ns)
			if builtin[ns] == nil {
				builtin[ns] = map[string]bool{}
			}
			builtin[ns][name] = true
			if ns == "AWS/Lambda" && name == "Errors" {
				fn, _ := entry[3].(string)
				lambdaErrors[strings.Trim(fn, "${}")] = true
			}
		}
	}
	var want []string
	for _, m := range generation.Metrics {
		want = append(want, m.Name)
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range domain {
			if !yield(k) {
				return
			}
		}
	})
	require.ElementsMatch(t, want, got, "the dashboard shows every metric the code writes")
	for _, fn := range functionIDs(tpl) {
		require.True(t, lambdaErrors[fn], "the dashboard graphs %s's errors", fn)
	}
	require.True(t, builtin["AWS/States"]["ExecutionsFailed"], "Step Functions executions")
	require.True(t, builtin["AWS/SQS"]["ApproximateNumberOfMessagesVisible"], "the feedback queue")
	require.True(t, builtin["AWS/ApiGateway"]["5xx"], "the HTTP API")
}

// The domain alarms: metric math over the code's metrics in the functions'
// namespace, thresholds from parameters, notifying AlarmTopicArn.
func TestDomainAlarms(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	want := map[string]struct {
		metrics   []string
		threshold string
		operator  string
	}{
		"DiscardRateAlarm":           {[]string{generation.MetricImagesPassed, generation.MetricImagesFailed}, "DiscardRateAlarmPercent", "GreaterThanThreshold"},
		"CostPerDeliveredImageAlarm": {[]string{generation.MetricCostUSD, generation.MetricImagesDelivered}, "CostPerDeliveredImageAlarmUsd", "GreaterThanThreshold"},
		"DeliveredQualityAlarm":      {[]string{generation.MetricDeliveredScore}, "DeliveredScoreAlarmMin", "LessThanThreshold"},
	}
	found := map[string]bool{}
	for id, r := range tpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" || r.Properties["Metrics"] == nil {
			continue
		}
		w, ok := want[id]
		require.True(t, ok, "%s: a domain alarm this test does not know", id)
		found[id] = true
		alarmActionsOnTopic(t, id, r)
		require.Equal(t, map[string]any{"Ref": w.threshold}, r.Properties["Threshold"], id)
		require.Contains(t, tpl.Parameters, w.threshold)
		require.Equal(t, w.operator, r.Properties["ComparisonOperator"], id)
		require.Equal(t, "notBreaching", r.Properties["TreatMissingData"], id)

		queries, _ := r.Properties["Metrics"].([]any)
		var names, ids []string
		returned := 0
		var expression string
		for _, q := range queries {
			qid, _ := dig(q, "Id").(string)
			ids = append(ids, qid)
			if dig(q, "ReturnData") == true {
				returned++
				expression, _ = dig(q, "Expression", "Fn::Sub").(string)
			}
			if stat := dig(q, "MetricStat"); stat != nil {
				require.Equal(t, map[string]any{"Fn::Sub": metricsNamespace}, dig(stat, "Metric", "Namespace"), id)
				name, _ := dig(stat, "Metric", "MetricName").(string)
				def, ok := generation.MetricNamed(name)
				require.True(t, ok, "%s reads %s, which the code does not write", id, name)
				require.Empty(t, def.Dimension, "%s: alarm on a metric without a dimension", id)
				names = append(names, name)
			}
		}
		require.Equal(t, 1, returned, "%s returns one expression", id)
		for _, qid := range ids {
			if !strings.Contains(expression, qid) && dig(queries[slices.Index(ids, qid)], "ReturnData") != true {
				t.Errorf("%s: the expression %q does not use %s", id, expression, qid)
			}
		}
		require.Contains(t, expression, "${DomainAlarmMinImages}", "%s ignores hours with too few images", id)
		slices.Sort(names)
		names = slices.Compact(names)
		require.ElementsMatch(t, w.metrics, names, id)
	}
	require.Len(t, found, len(want), "every domain alarm is declared")
}
