using System.Diagnostics;
using System.Globalization;

namespace KetamineCds.Benchmarks;

/// <summary>
/// The JWT benchmark's paths measured by process CPU time rather than wall time, interleaved in blocks: on a shared,
/// loaded 2-core machine, wall time mostly measures the wait for a core, CPU time much less so. Reports the median CPU
/// per call of each path over the blocks, and its ratio to the raw ES384 verification.
/// Run: <c>dotnet run -c Release --project tests/KetamineCds.Benchmarks -- jwt-cpu [blocks]</c>.
/// </summary>
public static class JwtCpuTimer
{
    private const int BlockSize = 256;

    public static void Run(int blocks)
    {
        var bench = new JwtBenchmarks();
        bench.Setup();
        // For comparison: what the verification alone costs when the EHR signs RS384 (2048-bit), the other algorithm
        // CDS Hooks 2.0 requires services to accept (Epic's usual choice).
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var input = System.Text.Encoding.ASCII.GetBytes("eyJhbGciOiJSUzM4NCJ9.eyJpc3MiOiJodHRwczovL2Voci5leGFtcGxlIn0");
        var rsaSignature = rsa.SignData(input, System.Security.Cryptography.HashAlgorithmName.SHA384, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        var paths = new (string Name, Func<Task> Call)[]
        {
            ("Es384VerifyOnly", () => Task.FromResult(bench.Es384VerifyOnly())),
            ("Rs384VerifyOnly", () => Task.FromResult(rsa.VerifyData(input, rsaSignature, System.Security.Cryptography.HashAlgorithmName.SHA384, System.Security.Cryptography.RSASignaturePadding.Pkcs1))),
            ("TokenHandlerOnly", bench.TokenHandlerOnly),
            ("SignedCallAdmission", bench.SignedCallAdmission),
        };
        var samples = paths.Select(_ => new List<double>()).ToArray();
        var process = Process.GetCurrentProcess();
        for (var block = 0; block < blocks; block++)
        {
            for (var p = 0; p < paths.Length; p++)
            {
                // A fresh replay store and the first token again: every call takes the accepting path.
                bench.ResetReplayStore();
                process.Refresh();
                var before = process.TotalProcessorTime;
                for (var i = 0; i < BlockSize; i++)
                {
                    paths[p].Call().GetAwaiter().GetResult();
                }

                process.Refresh();
                samples[p].Add((process.TotalProcessorTime - before).TotalMicroseconds / BlockSize);
            }
        }

        bench.Cleanup();
        var baseline = Median(samples[0]);
        Console.WriteLine($"CPU per call, median of {blocks} interleaved blocks of {BlockSize} calls:");
        for (var p = 0; p < paths.Length; p++)
        {
            var median = Median(samples[p]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {paths[p].Name,-20} {median,9:F1} us  ratio {median / baseline:F2}  (+{median - baseline:F1} us over the verification)"));
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
