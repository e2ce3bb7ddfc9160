using System.Net;
using System.Text;
using KetamineCds.Api.Tests.MultiInstance;
using KetamineCds.Api.Tests.Security;

namespace KetamineCds.Api.Tests.Observability;

/// <summary>
/// OpenTelemetry metrics through the Prometheus scrape endpoint of the real service process (configured by environment,
/// as a deployment would): stage timings, cards by finding code, refusals by status; nothing that identifies a patient.
/// </summary>
[Collection(KetamineCds.Api.Tests.Hardening.SerialCollection.Name)]
public sealed class TelemetryTests
{
    [Fact]
    public async Task Metrics_show_stage_timings_cards_by_finding_and_refusals_and_no_patient_data()
    {
        await using var service = await ServiceProcess.StartAsync(new Dictionary<string, string>
        {
            ["KetamineCds__Security__RequireSignedRequests"] = "false",
            ["KetamineCds__Telemetry__PrometheusEnabled"] = "true",
        }, aspnetEnvironment: "Testing");
        using var client = service.CreateClient();
        var body = await File.ReadAllTextAsync(SecurityTestHost.ScenarioPath("patient-13"));

        using var answered = await client.PostAsync(new Uri("/cds-services/ketamine-order-sign", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        using var refused = await client.PostAsync(new Uri("/cds-services/ketamine-order-sign", UriKind.Relative), new StringContent("{not json", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);

        // The exporter collects on scrape; the counters are there once the calls above have returned.
        var metrics = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        foreach (var stage in new[] { "parse", "validate", "gather", "rules", "render" })
        {
            Assert.Contains($"stage=\"{stage}\"", metrics, StringComparison.Ordinal);
        }

        Assert.Contains("ketaminecds_hook_stage_duration", metrics, StringComparison.Ordinal);
        Assert.Matches("ketaminecds_cards_total\\{[^}]*finding=\"lamotrigine-concurrent\"", metrics);
        Assert.Matches("ketaminecds_cards_total\\{[^}]*finding=\"benzodiazepine-threshold\"", metrics);
        Assert.Matches("ketaminecds_refusals_total\\{[^}]*status=\"400\"", metrics);

        // Patient 13's id, name and MRN are in the request; none may reach a metric.
        Assert.DoesNotContain("table2-patient-13", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("Kestrelle", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("MRN-13", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_configuration_there_is_no_metrics_endpoint()
    {
        await using var service = await ServiceProcess.StartAsync(new Dictionary<string, string>(), aspnetEnvironment: "Testing");
        using var client = service.CreateClient();
        using var response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
    }
}
