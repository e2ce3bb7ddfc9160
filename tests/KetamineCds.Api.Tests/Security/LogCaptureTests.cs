using System.Net;
using System.Text.Json;
using KetamineCds.Api.Audit;

namespace KetamineCds.Api.Tests.Security;

/// <summary>
/// Runs every Table 2 scenario through the real service with a signed token (plus a refused replay of each token) while
/// capturing every log line at Trace level, and checks that no patient name, identifier, birth date, patient id or token
/// reached any log.
/// </summary>
public sealed class LogCaptureTests
{
    private static readonly Dictionary<string, string> ServiceByHook = new()
    {
        ["order-sign"] = "ketamine-order-sign",
        ["order-select"] = "ketamine-order-select",
        ["patient-view"] = "ketamine-patient-view",
    };

    public static IEnumerable<string> ScenarioRequests() =>
        Directory.GetDirectories(Path.Combine(AppContext.BaseDirectory, "scenarios", "table2"))
            .SelectMany(dir => Directory.GetFiles(dir, "request*.json"))
            .Order(StringComparer.Ordinal);

    [Fact]
    public async Task No_patient_data_or_token_appears_in_any_log_line_across_the_scenario_suite()
    {
        var tokens = TestTokens.Default;
        using var host = new SecurityTestHost(SecurityTestHost.Settings(tokens.ClientSettings(0)));
        using var client = host.CreateClient();
        var forbidden = new HashSet<string>(StringComparer.Ordinal);
        var hookInstances = new List<string>();
        var files = ScenarioRequests().ToList();
        Assert.True(files.Count >= 13, $"expected the Table 2 scenarios, found {files.Count} request files");

        foreach (var file in files)
        {
            var json = await File.ReadAllTextAsync(file);
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            CollectPatientData(root, forbidden);
            forbidden.Add(root.GetProperty("context").GetProperty("patientId").GetString()!);
            hookInstances.Add(root.GetProperty("hookInstance").GetString()!);
            var service = ServiceByHook[root.GetProperty("hook").GetString()!];

            var token = tokens.For(service);
            forbidden.Add(token);
            forbidden.Add(token.Split('.')[1]);
            forbidden.Add(token.Split('.')[2]);
            Assert.Equal(HttpStatusCode.OK, (await Post(client, service, json, token)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await Post(client, service, json, token)).StatusCode);
        }

        // The fixtures must hold patient data, or this test would prove nothing.
        Assert.Contains(forbidden, v => v.Length == 10 && v[4] == '-' && v[7] == '-');
        Assert.True(forbidden.Count > files.Count * 3);

        var lines = host.Logs.Entries.Select(e => e.All).ToList();
        // The capture works: every call left its hookInstance and an audit record.
        Assert.All(hookInstances, h => Assert.Contains(lines, l => l.Contains(h, StringComparison.Ordinal)));
        Assert.Equal(files.Count * 2, host.Logs.Entries.Count(e => e.Category == AuditMiddleware.Category));

        var leaks = (from value in forbidden
                     from line in lines
                     where line.Contains(value, StringComparison.OrdinalIgnoreCase)
                     select $"'{value}' in: {line[..Math.Min(line.Length, 300)]}").ToList();
        Assert.True(leaks.Count == 0, "Patient data or token in logs:\n" + string.Join("\n", leaks.Take(20)));
    }

    private static async Task<HttpResponseMessage> Post(HttpClient client, string service, string json, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/cds-services/{service}")
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", token);
        return await client.SendAsync(request);
    }

    /// <summary>Names (family, given, text), identifier values and birth dates anywhere in the request.</summary>
    private static void CollectPatientData(JsonElement element, HashSet<string> into)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    switch (property.Name)
                    {
                        case "family" or "birthDate" when property.Value.ValueKind == JsonValueKind.String:
                            into.Add(property.Value.GetString()!);
                            break;
                        case "given" when property.Value.ValueKind == JsonValueKind.Array:
                            into.UnionWith(property.Value.EnumerateArray().Select(g => g.GetString()!));
                            break;
                        case "name" when property.Value.ValueKind == JsonValueKind.Array:
                            into.UnionWith(property.Value.EnumerateArray()
                                .Where(n => n.ValueKind == JsonValueKind.Object && n.TryGetProperty("text", out _))
                                .Select(n => n.GetProperty("text").GetString()!));
                            break;
                        case "identifier":
                            foreach (var identifier in property.Value.ValueKind == JsonValueKind.Array ? property.Value.EnumerateArray() : Enumerable.Repeat(property.Value, 1))
                            {
                                if (identifier.ValueKind == JsonValueKind.Object && identifier.TryGetProperty("value", out var value))
                                {
                                    into.Add(value.GetString()!);
                                }
                            }

                            break;
                    }

                    CollectPatientData(property.Value, into);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    CollectPatientData(item, into);
                }

                break;
        }
    }
}
