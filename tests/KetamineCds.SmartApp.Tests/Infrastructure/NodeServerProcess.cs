using System.Diagnostics;
using System.Text.Json;

namespace KetamineCds.SmartApp.Tests.Infrastructure;

/// <summary>
/// One node test server (tests/servers/*/server.mjs) run by the Node 22 binary its own node_modules pins. Started with
/// --port 0; ready when it prints its READY line (a JSON object with the chosen port). Everything it prints goes to a
/// log file for diagnostics. Killed, with its process tree, on dispose.
/// </summary>
public sealed class NodeServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly object _logLock = new();

    private NodeServerProcess(Process process, StreamWriter log, JsonElement ready, string logPath)
    {
        _process = process;
        _log = log;
        Ready = ready;
        LogPath = logPath;
    }

    /// <summary>The JSON object of the READY line (port, base or issuer, ...).</summary>
    public JsonElement Ready { get; }

    /// <summary>Where stdout and stderr of the server are written.</summary>
    public string LogPath { get; }

    public int Port => Ready.GetProperty("port").GetInt32();

    public bool HasExited => _process.HasExited;

    /// <param name="serverDirectory">tests/servers/fhir or tests/servers/auth.</param>
    /// <param name="readyMarker">The first word of the READY line, e.g. FHIR_SERVER_READY.</param>
    public static async Task<NodeServerProcess> StartAsync(
        string serverDirectory, string readyMarker, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, string logPath)
    {
        var node = Path.Combine(serverDirectory, "node_modules", "node", "bin", "node");
        if (!File.Exists(node) || !Directory.Exists(Path.Combine(serverDirectory, "node_modules")))
        {
            throw new InvalidOperationException(
                $"The test server in {serverDirectory} has no node_modules (Node 22 and its packages): run .ci/install-prerequisites.sh first.");
        }

        var start = new ProcessStartInfo(node)
        {
            WorkingDirectory = serverDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("server.mjs");
        start.ArgumentList.Add("--exit-with-stdin"); // the server exits when this test host dies and its stdin closes
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment)
        {
            start.Environment[k] = v;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var ready = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        var logLock = new object();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (logLock)
            {
                log.WriteLine($"[out] {e.Data}");
            }

            if (e.Data.StartsWith(readyMarker + " ", StringComparison.Ordinal))
            {
                try
                {
                    ready.TrySetResult(JsonDocument.Parse(e.Data[(readyMarker.Length + 1)..]).RootElement.Clone());
                }
                catch (JsonException ex)
                {
                    ready.TrySetException(ex);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (logLock)
            {
                log.WriteLine($"[err] {e.Data}");
            }
        };
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException(
            $"{Path.GetFileName(serverDirectory)} test server exited (code {SafeExitCode(process)}) before it was ready; see {logPath}"));

        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {node}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var json = await ready.Task.WaitAsync(ReadyTimeout);
            return new NodeServerProcess(process, log, json, logPath);
        }
        catch
        {
            Kill(process);
            process.Dispose();
            await log.DisposeAsync();
            var tail = File.Exists(logPath) ? string.Join('\n', File.ReadLines(logPath).TakeLast(20)) : "";
            throw new InvalidOperationException($"{Path.GetFileName(serverDirectory)} test server did not become ready; log {logPath}:\n{tail}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill(_process);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        _process.Dispose();
        lock (_logLock)
        {
            _log.Dispose();
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static string SafeExitCode(Process p)
    {
        try
        {
            return p.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }
}
