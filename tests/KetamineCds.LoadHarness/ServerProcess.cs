using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace KetamineCds.LoadHarness;

/// <summary>
/// A server under load, as a child process on a free loopback port: the KetamineCds service (its Release build) or the
/// bare-parse endpoint (this harness in <c>bare-server</c> mode). CPU time and memory are read from /proc, so they are
/// the server's alone, not the load generator's.
/// </summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;

    private ServerProcess(string name, Process process, Uri baseUri, TimeSpan startToReady)
    {
        Name = name;
        _process = process;
        BaseUri = baseUri;
        StartToReady = startToReady;
    }

    public string Name { get; }

    public Uri BaseUri { get; }

    /// <summary>From process start to the first 200 of its readiness probe.</summary>
    public TimeSpan StartToReady { get; }

    public int Pid => _process.Id;

    public static async Task<ServerProcess> StartAsync(string name, string dll, IEnumerable<string> args, IDictionary<string, string> environment, string readinessPath, int port = 0)
    {
        port = port == 0 ? FreePort() : port;
        var baseUri = new Uri($"http://127.0.0.1:{port}");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(baseUri.ToString().TrimEnd('/'));
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var started = Stopwatch.StartNew();
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {dll}");
        // Console logs are drained and dropped: a container runtime reads them the same way.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                Console.Error.WriteLine($"[{name}] {line}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (started.Elapsed < TimeSpan.FromSeconds(120))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with code {process.ExitCode} before it was ready");
            }

            try
            {
                using var response = await probe.GetAsync(new Uri(baseUri, readinessPath));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return new ServerProcess(name, process, baseUri, started.Elapsed);
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(25);
        }

        process.Kill(entireProcessTree: true);
        throw new TimeoutException($"{name} was not ready within 120 s");
    }

    /// <summary>User + system CPU time of the server process so far (from /proc/[pid]/stat).</summary>
    public TimeSpan CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        // Fields after the command name (which is in parentheses and may contain spaces): utime is field 14, stime 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / (double)ClockTicksPerSecond);
    }

    /// <summary>Resident set size now (VmRSS) in MB.</summary>
    public double RssMb() => StatusKb("VmRSS") / 1024.0;

    /// <summary>Peak resident set size (VmHWM) in MB.</summary>
    public double PeakRssMb() => StatusKb("VmHWM") / 1024.0;

    private long StatusKb(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    // USER_HZ is 100 on every Linux this runs on (getconf CLK_TCK).
    private const int ClockTicksPerSecond = 100;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }
}
