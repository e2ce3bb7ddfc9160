using System.Diagnostics;
using System.Net.Http.Headers;

namespace KetamineCds.LoadHarness;

/// <summary>What one load phase against one server measured.</summary>
public sealed record PhaseResult(string Server, int Requests, int Errors, TimeSpan Elapsed, TimeSpan ServerCpu, double[] LatenciesMs, string? FirstError)
{
    public double RequestsPerSecond => Requests / Elapsed.TotalSeconds;

    /// <summary>Server CPU per request: the least noisy figure on a shared machine.</summary>
    public double CpuMsPerRequest => Requests == 0 ? double.NaN : ServerCpu.TotalMilliseconds / Requests;

    public double Percentile(double p)
    {
        if (LatenciesMs.Length == 0)
        {
            return double.NaN;
        }

        var sorted = LatenciesMs.Order().ToArray();
        var index = (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }
}

/// <summary>
/// Posts the same hook request to a server over a fixed number of keep-alive connections, for a fixed time or a fixed
/// count, recording each latency. Bounded in both count and time; loopback only.
/// </summary>
public sealed class LoadGenerator(byte[][] payloads, string path, Func<string?> token)
{
    private int _next;

    public LoadGenerator(byte[] payload, string path, Func<string?> token)
        : this([payload], path, token)
    {
    }

    public async Task<PhaseResult> RunAsync(ServerProcess server, int connections, TimeSpan duration, int maxRequests = int.MaxValue)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
        };
        using var client = new HttpClient(handler) { BaseAddress = server.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        var latencies = new List<double>[connections];
        var errors = 0;
        var count = 0;
        string? firstError = null;
        using var stop = new CancellationTokenSource(duration);
        var cpuBefore = server.CpuTime();
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, connections).Select(async w =>
        {
            var mine = latencies[w] = new List<double>(4096);
            while (!stop.IsCancellationRequested && Interlocked.Increment(ref count) <= maxRequests)
            {
                var payload = payloads[(int)((uint)Interlocked.Increment(ref _next) % (uint)payloads.Length)];
                using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(payload) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                if (token() is { } jwt)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", jwt);
                }

                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead);
                    _ = await response.Content.ReadAsByteArrayAsync();
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref errors);
                        firstError ??= $"{(int)response.StatusCode} {response.ReasonPhrase}";
                        continue;
                    }
                }
                catch (HttpRequestException e)
                {
                    Interlocked.Increment(ref errors);
                    firstError ??= e.Message;
                    continue;
                }

                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }).ToArray();
        await Task.WhenAll(workers);
        clock.Stop();
        var cpu = server.CpuTime() - cpuBefore;
        var all = latencies.SelectMany(l => l).ToArray();
        return new PhaseResult(server.Name, all.Length, errors, clock.Elapsed, cpu, all, firstError);
    }
}
