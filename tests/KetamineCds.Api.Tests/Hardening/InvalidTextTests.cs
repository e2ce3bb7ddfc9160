using System.Net;
using System.Net.Http.Headers;
using System.Text;
using KetamineCds.Api.Tests.Fallback;
using KetamineCds.Api.Tests.Security;

namespace KetamineCds.Api.Tests.Hardening;

/// <summary>
/// Issue 8 item 3, case by case: text that is not valid Unicode in a hook request or feedback is a 400 OperationOutcome
/// that says what is wrong; in a FHIR server's answer, the one resource is skipped and counted and the rest still read.
/// </summary>
public sealed class InvalidTextTests : IAsyncLifetime
{
    private const string Service = "ketamine-order-sign";
    private ScriptedHttpServer ehr = null!;
    private SecurityTestHost host = null!;
    private Func<RecordedRequest, ScriptedReply> ehrHandler = Table2.Ehr(13);

    public Task InitializeAsync()
    {
        ehr = new ScriptedHttpServer(r => ehrHandler(r));
        host = new SecurityTestHost(SecurityTestHost.Settings(TestTokens.Default.ClientSettings(), new Dictionary<string, string?>
        {
            ["KetamineCds:FhirFallback:AllowHttpLoopback"] = "true",
            ["KetamineCds:FhirServers:0:BaseUrl"] = ehr.BaseUrl.ToString(),
            ["KetamineCds:FhirFallback:DeadlineMilliseconds"] = "3000",
            ["KetamineCds:FhirFallback:AttemptTimeoutMilliseconds"] = "1500",
        }));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        host.Dispose();
        await ehr.DisposeAsync();
    }

    public static TheoryData<string, byte[], string> Corruptions => new()
    {
        { "a Latin-1 é in a dosage text", [0xE9], "not valid UTF-8" },
        { "an overlong NUL", [0xC0, 0x80], "not valid UTF-8" },
        { "an overlong slash", [0xE0, 0x80, 0xAF], "not valid UTF-8" },
        { "an encoded surrogate", [0xED, 0xA0, 0x80], "not valid UTF-8" },
        { "an escaped lone high surrogate", "\\ud800"u8.ToArray(), "unpaired surrogate" },
        { "an escaped lone low surrogate", "\\udc00x"u8.ToArray(), "unpaired surrogate" },
        { "an escaped NUL", "\\u0000"u8.ToArray(), "NUL" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public async Task A_hook_request_with_text_that_is_not_valid_Unicode_gets_400_with_an_OperationOutcome(string what, byte[] inserted, string expected)
    {
        var body = Insert(Encoding.UTF8.GetBytes(Table2.Request(13).ToJsonString()), "\"2 mg/day", inserted);

        var (status, text) = await PostAsync(Service, body);

        Assert.True(status == 400, $"{what}: {status} {text}");
        Assert.Contains("\"resourceType\":\"OperationOutcome\"", text, StringComparison.Ordinal);
        Assert.Contains(expected, text, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Corruptions))]
    public async Task Feedback_with_text_that_is_not_valid_Unicode_gets_400_with_an_OperationOutcome(string what, byte[] inserted, string expected)
    {
        var feedback = Encoding.UTF8.GetBytes($$"""{"feedback":[{"card":"{{Guid.NewGuid()}}","outcome":"overridden","outcomeTimestamp":"2026-12-01T08:00:00Z"}]}""");
        var body = Insert(feedback, "\"overridden", inserted);

        var (status, text) = await PostAsync(Service + "/feedback", body);

        Assert.True(status == 400, $"{what}: {status} {text}");
        Assert.Contains(expected, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Valid_escapes_and_accented_text_are_still_answered()
    {
        var body = Insert(Encoding.UTF8.GetBytes(Table2.Request(13).ToJsonString()), "\"2 mg/day", "\\u00e9\\ud83d\\ude00 é "u8.ToArray());

        var (status, text) = await PostAsync(Service, body);

        Assert.True(status == 200, text);
    }

    [Fact]
    public async Task A_FHIR_server_resource_with_invalid_UTF8_is_skipped_and_counted_and_the_other_resources_are_read()
    {
        // The EHR's FHIR server sends the clonazepam statement with a Latin-1 byte in it; the lamotrigine statement is fine.
        var statements = Insert(Encoding.UTF8.GetBytes(Table2.SearchBundle(13, "MedicationStatement")), "\"2 mg/day", [0xE9]);
        var fallback = Table2.Ehr(13);
        ehrHandler = r => r.Path.EndsWith("/MedicationStatement", StringComparison.Ordinal) ? new ScriptedReply(200, statements) : fallback(r);

        var (status, text) = await PostAsync(Service, Encoding.UTF8.GetBytes(Table2.WithoutPrefetch(13, ehr.BaseUrl).ToJsonString()));

        Assert.True(status == 200, text);
        Assert.Contains("lamotrigine-concurrent", Table2.Findings(text));
        Assert.Contains(host.Logs.Entries, e => e.Message.StartsWith("Hook answered", StringComparison.Ordinal) && e.Message.Contains("unreadable=1", StringComparison.Ordinal));
    }

    private static byte[] Insert(byte[] body, string after, byte[] inserted)
    {
        var marker = Encoding.UTF8.GetBytes(after);
        var at = body.AsSpan().IndexOf(marker);
        Assert.True(at >= 0, $"'{after}' is not in the fixture");
        return [.. body.AsSpan(0, at + marker.Length), .. inserted, .. body.AsSpan(at + marker.Length)];
    }

    private async Task<(int Status, string Text)> PostAsync(string path, byte[] body)
    {
        using var client = host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/cds-services/" + path, UriKind.Relative)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.Default.Sign(TestTokens.Audience(path)));
        using var response = await client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
