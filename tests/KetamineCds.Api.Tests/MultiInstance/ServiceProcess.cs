using System.Collections.Concurrent;
using System.Diagnostics;

namespace KetamineCds.Api.Tests.MultiInstance;

/// <summary>
/// The service as it runs in production: a child process <c>dotnet KetamineCds.Api.dll</c> on a free 127.0.0.1 port,
/// configured by environment variables only, with its real console output (stdout) captured line by line.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> output = new();

    private ServiceProcess(Process process, Uri baseUrl)
    {
        this.process = process;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    /// <summary>Every console line the service wrote so far (stdout and stderr).</summary>
    public IReadOnlyList<string> Output => [.. output];

    /// <summary>Waits until at least <paramref name="count"/> lines containing <paramref name="text"/> have come through the
    /// pipe (the service logs off the request thread), or <paramref name="timeout"/> (default 10 s) passes: true when they did.</summary>
    public async Task<bool> WaitForLinesAsync(string text, int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (output.Count(line => line.Contains(text, StringComparison.Ordinal)) < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(100);
        }

        return true;
    }

    public static async Task<ServiceProcess> StartAsync(IDictionary<string, string> environment, string aspnetEnvironment = "Production")
    {
        ArgumentNullException.ThrowIfNull(environment);
        var port = LoopbackPort.Free();
        var start = new ProcessStartInfo("dotnet", [ServiceDll()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(ServiceDll())!,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = aspnetEnvironment;
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        // Start-up cost only: these tests are about the trust boundary and logs, not assessment validation.
        start.Environment["KetamineCds__ValidateAssessments"] = "false";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        var service = new ServiceProcess(process, new Uri($"http://127.0.0.1:{port}"));
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) service.output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) service.output.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await service.WaitUntilReadyAsync();
        return service;
    }

    /// <summary>The service binary the test project built (same configuration), found from the test output folder.</summary>
    public static string ServiceDll()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // .../bin/{Configuration}/net10.0/
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "KetamineCds.Api", "bin", configuration, "net10.0", "KetamineCds.Api.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("KetamineCds.Api.dll was not found; build src/KetamineCds.Api first.");
    }


    public HttpClient CreateClient() => new() { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(30) };

    private async Task WaitUntilReadyAsync()
    {
        using var client = CreateClient();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(90))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with {process.ExitCode}:{Environment.NewLine}{string.Join(Environment.NewLine, Output.TakeLast(40))}");
            }

            try
            {
                using var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The service did not become healthy:{Environment.NewLine}{string.Join(Environment.NewLine, Output.TakeLast(40))}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }
}

/// <summary>One redis-server for the run; these tests start service processes, so they run alone (like the fuzzer).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RedisCollection : ICollectionFixture<RedisServer>
{
    public const string Name = "redis";
}
