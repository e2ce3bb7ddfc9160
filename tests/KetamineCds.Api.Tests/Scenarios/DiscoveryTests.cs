using System.Text.Json;
using System.Text.RegularExpressions;
using KetamineCds.Api.Tests.Support;

namespace KetamineCds.Api.Tests.Scenarios;

public sealed class DiscoveryTests(CdsApplication app) : IClassFixture<CdsApplication>
{
    [Fact]
    public async Task Discovery_lists_exactly_the_three_ketamine_services()
    {
        using var doc = JsonDocument.Parse(await app.CreateClient().GetStringAsync("/cds-services"));
        var services = doc.RootElement.GetProperty("services").EnumerateArray().ToList();
        Assert.Equal(
            ["ketamine-order-select:order-select", "ketamine-order-sign:order-sign", "ketamine-patient-view:patient-view"],
            services.Select(s => $"{s.GetProperty("id").GetString()}:{s.GetProperty("hook").GetString()}").Order());
        foreach (var service in services)
        {
            Assert.False(string.IsNullOrWhiteSpace(service.GetProperty("title").GetString()));
            Assert.False(string.IsNullOrWhiteSpace(service.GetProperty("description").GetString()));
            Assert.False(string.IsNullOrWhiteSpace(service.GetProperty("usageRequirements").GetString()));
            var prefetch = service.GetProperty("prefetch").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            Assert.Equal(["medicationRequests", "medicationStatements", "observations", "patient"], prefetch.Keys.Order());
            Assert.StartsWith("MedicationStatement?", prefetch["medicationStatements"], StringComparison.Ordinal);
            Assert.StartsWith("MedicationRequest?", prefetch["medicationRequests"], StringComparison.Ordinal);
            Assert.StartsWith("Observation?", prefetch["observations"], StringComparison.Ordinal);
            Assert.StartsWith("Patient/", prefetch["patient"], StringComparison.Ordinal);
            foreach (var template in prefetch.Values)
            {
                // CDS Hooks 2.0 prefetch tokens: {{context.x}} or {{userPractitionerId}}-style; we only use context.patientId.
                var tokens = Regex.Matches(template, @"\{\{([^}]*)\}\}").Select(m => m.Groups[1].Value).ToList();
                Assert.NotEmpty(tokens);
                Assert.All(tokens, t => Assert.Equal("context.patientId", t));
            }
        }
    }

    [Fact]
    public async Task Discovery_has_no_null_or_empty_members()
    {
        var text = await app.CreateClient().GetStringAsync("/cds-services");
        Assert.DoesNotContain("null", text, StringComparison.Ordinal);
        Assert.DoesNotContain("[]", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_and_readiness_answer()
    {
        var client = app.CreateClient();
        Assert.Equal("ok", await client.GetStringAsync("/healthz"));
        Assert.StartsWith("ready", await client.GetStringAsync("/readyz"), StringComparison.Ordinal);
    }
}
