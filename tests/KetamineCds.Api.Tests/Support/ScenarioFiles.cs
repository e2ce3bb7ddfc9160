using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KetamineCds.Api.Tests.Support;

/// <summary>Scenario fixtures (tests/scenarios) and small helpers to post them and read the cards.</summary>
public static class ScenarioFiles
{
    public static string Root { get; } = Path.Combine(AppContext.BaseDirectory, "scenarios");

    public static IEnumerable<string> Table2Patients() =>
        Directory.GetDirectories(Path.Combine(Root, "table2")).Select(Path.GetFileName).OfType<string>().Order();

    public static JsonObject Load(string relativePath) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Root, relativePath)))!.AsObject();

    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, string serviceId, JsonNode body, string contentType = "application/json")
    {
        var content = new StringContent(body.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return await client.PostAsync($"/cds-services/{serviceId}", content);
    }

    public static async Task<JsonArray> CardsAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!["cards"]!.AsArray();
    }

    public static JsonObject? Card(JsonArray cards, string finding) =>
        cards.Select(c => c!.AsObject()).FirstOrDefault(c => (string?)c["extension"]?["ketaminecds"]?["finding"] == finding);

    public static IReadOnlyList<string> Findings(JsonArray cards) =>
        cards.Select(c => (string)c!["extension"]!["ketaminecds"]!["finding"]!).Order(StringComparer.Ordinal).ToList();

    /// <summary>The issue text of an OperationOutcome body.</summary>
    public static async Task<string> OutcomeAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal("OperationOutcome", json.GetProperty("resourceType").GetString());
        return json.GetProperty("issue")[0].GetProperty("diagnostics").GetString()!;
    }
}
