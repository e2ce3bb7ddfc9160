using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using KetamineCds.Api.Tests.MultiInstance;
using KetamineCds.Api.Tests.Security;
using KetamineCds.Storage;

namespace KetamineCds.Api.Tests.Feedback;

/// <summary>
/// Nothing acknowledged is lost: the real service runs as a child process (dotnet KetamineCds.Api.dll on a free
/// loopback port, SQLite in a temp directory, Testing environment trusting a test issuer), signed feedback streams in
/// from four senders, the process is SIGKILLed in the middle, restarted on the same database, and every item that was
/// answered 200 must be in the store exactly once.
/// </summary>
public sealed class FeedbackKillTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "kcds-kill-" + Guid.NewGuid().ToString("N")[..12]);

    private string Database => Path.Combine(directory, "ketaminecds.db");

    [Fact]
    public async Task Every_feedback_item_acknowledged_before_a_SIGKILL_is_in_the_store_after_restart_and_none_twice()
    {
        Directory.CreateDirectory(directory);
        var acknowledged = new ConcurrentBag<(Guid Card, string At)>();
        var attempted = 0;

        using (var first = await ServiceProcess.StartAsync(directory, Database))
        {
            using var http = new HttpClient { BaseAddress = first.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var killAfter = 120;
            var senders = Enumerable.Range(0, 4).Select(sender => Task.Run(async () =>
            {
                for (var i = 0; i < 400 && !stop.IsCancellationRequested; i++)
                {
                    var card = Guid.NewGuid();
                    var at = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/cds-services/ketamine-order-sign/feedback")
                    {
                        Content = new StringContent(
                            $$$"""{"feedback":[{"card":"{{{card}}}","outcome":"overridden","overrideReason":{"reason":{"system":"http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-override-reason","code":"not-applicable"}},"outcomeTimestamp":"{{{at}}}"}]}""",
                            Encoding.UTF8, "application/json"),
                    };
                    request.Headers.Authorization = new("Bearer", TestTokens.Default.Sign(TestTokens.Audience("ketamine-order-sign") + "/feedback"));
                    Interlocked.Increment(ref attempted);
                    try
                    {
                        using var response = await http.SendAsync(request, stop.Token);
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            acknowledged.Add((card, at));
                        }
                        else if (!first.Killed)
                        {
                            Assert.Fail($"feedback answered {(int)response.StatusCode} before the kill: {await response.Content.ReadAsStringAsync()}");
                        }
                    }
                    catch (Exception e) when (first.Killed && e is HttpRequestException or TaskCanceledException or IOException)
                    {
                        return; // the connection died with the process: this item was never acknowledged
                    }

                    if (acknowledged.Count >= killAfter && !first.Killed)
                    {
                        first.Kill(); // SIGKILL while the other senders have requests in flight
                    }
                }
            })).ToList();
            await Task.WhenAll(senders);
            Assert.True(first.Killed, $"the stream ended before the kill ({acknowledged.Count} acknowledged)");
        }

        Assert.True(acknowledged.Count >= 120, $"only {acknowledged.Count} acknowledged");

        // Restart on the same database: it opens, recovers the WAL and answers again.
        using (var second = await ServiceProcess.StartAsync(directory, Database))
        {
            using var http = new HttpClient { BaseAddress = second.BaseAddress };
            using var after = new HttpRequestMessage(HttpMethod.Post, "/cds-services/ketamine-order-sign/feedback")
            {
                Content = new StringContent($$"""{"feedback":[{"card":"{{Guid.NewGuid()}}","outcome":"accepted","outcomeTimestamp":"2026-11-27T09:00:00Z"}]}""", Encoding.UTF8, "application/json"),
            };
            after.Headers.Authorization = new("Bearer", TestTokens.Default.Sign(TestTokens.Audience("ketamine-order-sign") + "/feedback"));
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(after)).StatusCode);
        }

        await using var store = new SqliteKetamineCdsStore(Database);
        foreach (var (card, _) in acknowledged)
        {
            Assert.Single(await store.FeedbackForCardAsync(card, CancellationToken.None));
        }

        var counts = await store.CountsAsync(CancellationToken.None);
        // Acknowledged items, plus any that committed while their answer was lost with the process, plus the one after restart.
        Assert.InRange(counts.Feedback, acknowledged.Count + 1, attempted + 1);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The service as its own OS process, so that SIGKILL kills exactly what a crash would.</summary>
    private sealed class ServiceProcess : IDisposable
    {
        private readonly Process process;

        private ServiceProcess(Process process, Uri baseAddress)
        {
            this.process = process;
            BaseAddress = baseAddress;
        }

        public Uri BaseAddress { get; }

        public bool Killed { get; private set; }

        public static async Task<ServiceProcess> StartAsync(string directory, string database)
        {
            var port = LoopbackPort.Free();
            var dll = Path.Combine(AppContext.BaseDirectory, "KetamineCds.Api.dll");
            var start = new ProcessStartInfo("dotnet")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = directory,
            };
            foreach (var a in new[] { dll, "--urls", $"http://127.0.0.1:{port}", "--contentRoot", directory })
            {
                start.ArgumentList.Add(a);
            }

            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
            start.Environment["KetamineCds__Storage__SqlitePath"] = database;
            start.Environment["KetamineCds__Security__PublicBaseUrl"] = TestTokens.PublicBaseUrl;
            start.Environment["KetamineCds__Security__RateLimit__PermitLimit"] = "1000000";
            foreach (var (key, value) in TestTokens.Default.ClientSettings())
            {
                start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
            var output = new StringBuilder();
            process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var service = new ServiceProcess(process, new Uri($"http://127.0.0.1:{port}"));
            using var http = new HttpClient { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(120))
            {
                if (process.HasExited)
                {
                    break;
                }

                try
                {
                    if ((await http.GetAsync("/readyz")).IsSuccessStatusCode)
                    {
                        return service;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                }

                await Task.Delay(200);
            }

            service.Dispose();
            lock (output)
            {
                throw new InvalidOperationException($"The service did not become ready on port {port}:\n{output}");
            }
        }

        /// <summary>SIGKILL: no shutdown hooks, no queue drain, no flush; what is not on disk is gone.</summary>
        public void Kill()
        {
            Killed = true;
            process.Kill();
        }

        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit(10_000);
            process.Dispose();
        }
    }
}
