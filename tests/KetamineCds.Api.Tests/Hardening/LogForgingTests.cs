using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KetamineCds.Api.Tests.MultiInstance;
using KetamineCds.Api.Tests.Security;

namespace KetamineCds.Api.Tests.Hardening;

/// <summary>
/// Issue 8 items 4 and 8 against the real console output of a real service process (Production, configured as a
/// deployment is): CR/LF/ANSI payloads in hookInstance, in a percent-encoded path and in a header forge no line under the
/// simple, JSON or systemd formatter; one request with a 3 MB hookInstance writes a bounded amount of log; a client that
/// hangs up mid-upload is logged as a disconnect and audited as such, not as a 400 refusal.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class LogForgingTests
{
    private const string Service = "ketamine-order-sign";
    private const string Forged = "FORGED-LINE";
    private const string Payload = "ok\r\n" + Forged + " info: KetamineCds.Audit[5000]\n\u001b[31m\u001b[2J\u0085\u2028" + Forged;

    [Theory]
    [InlineData("simple")]
    [InlineData("json")]
    [InlineData("systemd")]
    public async Task Control_characters_sent_by_a_caller_never_start_a_log_line_or_reach_the_terminal_and_a_huge_value_is_cut(string formatter)
    {
        await using var service = await ServiceProcess.StartAsync(Environment(formatter));
        using var client = service.CreateClient();

        // 1. hookInstance with CR, LF, NEL, LINE SEPARATOR and ANSI escapes, on a call that is answered (and logged and audited).
        var request = JsonNode.Parse(await File.ReadAllTextAsync(SecurityTestHost.ScenarioPath("patient-13")))!.AsObject();
        request["hookInstance"] = Payload;
        using var answered = await PostAsync(client, Service, request.ToJsonString(), TestTokens.Default.For(Service));
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);

        // 2. A percent-encoded path with CR, LF and ESC, refused before authentication (logged with its path).
        using var badPath = await client.PostAsync(new Uri("/cds-services/x%0D%0A" + Forged + "%1B%5B31m%0A" + Forged, UriKind.Relative),
            new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, badPath.StatusCode);

        // 3. A header carrying an escape (HttpClient refuses CR/LF in headers; Kestrel refuses them on the wire).
        using var withHeader = new HttpRequestMessage(HttpMethod.Post, new Uri("/cds-services/" + Service, UriKind.Relative))
        {
            Content = new StringContent("{}", Encoding.UTF8, "application/json"),
        };
        withHeader.Headers.TryAddWithoutValidation("Origin", "https://evil.example\u001b[2J" + Forged);
        using var headerResponse = await client.SendAsync(withHeader);
        Assert.Equal(HttpStatusCode.Forbidden, headerResponse.StatusCode);

        // 4. A 3 MB hookInstance (the body is under the 4 MB limit): the log it causes is bounded, not 3 MB per line.
        await WaitForAsync(service, Forged);
        var before = service.Output.Sum(l => l.Length + 1);
        request["hookInstance"] = new string('h', 3 * 1024 * 1024);
        using var huge = await PostAsync(client, Service, request.ToJsonString(), TestTokens.Default.For(Service));
        Assert.Equal(HttpStatusCode.OK, huge.StatusCode);
        await WaitForAsync(service, "hhhhhhhh...(");

        var lines = service.Output;
        Assert.All(lines, line => Assert.DoesNotContain('\u001b', line));
        Assert.All(lines, line => Assert.False(line.TrimStart().StartsWith(Forged, StringComparison.Ordinal), $"forged line: {line}"));
        Assert.Contains(lines, line => line.Contains("\\r\\n" + Forged, StringComparison.Ordinal) || line.Contains("\\\\r\\\\n" + Forged, StringComparison.Ordinal));
        switch (formatter)
        {
            case "json":
                Assert.All(lines, line => JsonDocument.Parse(line).Dispose());
                break;
            case "systemd":
                Assert.All(lines.Where(l => l.Length > 0), line => Assert.Matches("^<[0-7]>", line));
                break;
        }

        var written = service.Output.Sum(l => l.Length + 1) - before;
        Assert.True(written < 16 * 1024, $"one request with a 3 MB hookInstance wrote {written} characters of log");
    }

    [Fact]
    public async Task A_client_that_hangs_up_mid_upload_is_logged_as_a_disconnect_and_not_audited_as_a_400_refusal()
    {
        await using var service = await ServiceProcess.StartAsync(Environment("json"));
        var body = Encoding.UTF8.GetBytes(await File.ReadAllTextAsync(SecurityTestHost.ScenarioPath("patient-13")));

        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(IPAddress.Loopback, service.BaseUrl.Port);
            var head = $"POST /cds-services/{Service} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
                       $"Authorization: Bearer {TestTokens.Default.For(Service)}\r\nContent-Length: {body.Length}\r\n\r\n";
            await socket.SendAsync(Encoding.ASCII.GetBytes(head));
            await socket.SendAsync(body.AsMemory(0, body.Length / 2));
            await Task.Delay(300);
            socket.Shutdown(SocketShutdown.Both);
        }

        await WaitForAsync(service, "client-disconnected");
        var events = service.Output.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Contains(events, e => e.GetProperty("EventId").GetInt32() == 1004);
        Assert.DoesNotContain(events, e => e.GetProperty("EventId").GetInt32() == 1001);
        var audit = events.Single(e => e.GetProperty("Category").GetString() == "KetamineCds.Audit");
        Assert.Contains("\"outcome\":\"client-disconnected\"", audit.GetProperty("Message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("\"status\":400", audit.GetProperty("Message").GetString(), StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Environment(string formatter)
    {
        var settings = TwoInstanceTests.Environment("", "unused:");
        settings.Remove("KetamineCds__Redis__Configuration");
        settings.Remove("KetamineCds__Redis__KeyPrefix");
        settings["Logging__Console__FormatterName"] = formatter;
        settings["KetamineCds__Security__Cors__AllowedOrigins__0"] = "https://ehr.example.org";
        return settings;
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string body, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/cds-services/" + path, UriKind.Relative))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    private static async Task WaitForAsync(ServiceProcess service, string text)
    {
        Assert.True(await service.WaitForLinesAsync(text),
            $"'{text}' was not logged:{System.Environment.NewLine}{string.Join(System.Environment.NewLine, service.Output.TakeLast(12).Select(l => l[..Math.Min(l.Length, 600)]))}");
    }
}
