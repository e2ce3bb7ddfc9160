using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using KetamineCds.Api.Tests.MultiInstance;
using KetamineCds.Api.Tests.Security;

namespace KetamineCds.Api.Tests.Hardening;

/// <summary>
/// The audit record under the JSON console formatter (the default outside Development), from the real process's stdout:
/// one line per call whose Message is the record (docs/security.md), written once (issue 8 item 1: the generated logger
/// state made the formatter write it three times, as Message, State.Message and a State property).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class AuditLineTests
{
    private const string Service = "ketamine-order-sign";

    [Fact]
    public async Task An_answered_call_writes_one_json_audit_line_whose_message_is_the_record_and_which_carries_it_once()
    {
        var settings = TwoInstanceTests.Environment("", "unused:");
        settings.Remove("KetamineCds__Redis__Configuration");
        settings.Remove("KetamineCds__Redis__KeyPrefix");
        settings["Logging__Console__FormatterName"] = "json";
        await using var service = await ServiceProcess.StartAsync(settings);
        using var client = service.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/cds-services/" + Service, UriKind.Relative))
        {
            Content = new StringContent(await File.ReadAllTextAsync(SecurityTestHost.ScenarioPath("patient-13")), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.Default.For(Service));
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        const string AuditCategory = "\"Category\":\"KetamineCds.Audit\"";
        await service.WaitForLinesAsync(AuditCategory);
        var line = Assert.Single(service.Output, l => l.Contains(AuditCategory, StringComparison.Ordinal));
        using var entry = JsonDocument.Parse(line);
        Assert.Equal(5000, entry.RootElement.GetProperty("EventId").GetInt32());
        Assert.Equal("Information", entry.RootElement.GetProperty("LogLevel").GetString());
        using var record = JsonDocument.Parse(entry.RootElement.GetProperty("Message").GetString()!);
        Assert.Equal("cds-hook-call", record.RootElement.GetProperty("type").GetString());
        Assert.Equal("answered", record.RootElement.GetProperty("outcome").GetString());
        var patient = record.RootElement.GetProperty("patient").GetString()!;
        Assert.StartsWith("hmac-sha256:", patient, StringComparison.Ordinal);

        // The record's unique value (the patient hash) appears once in the line: no second or third copy in State.
        Assert.Equal(1, Count(line, patient));
        foreach (var property in entry.RootElement.GetProperty("State").EnumerateObject())
        {
            Assert.DoesNotContain(patient, property.Value.ToString(), StringComparison.Ordinal);
        }
    }

    private static int Count(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
