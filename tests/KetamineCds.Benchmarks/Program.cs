using BenchmarkDotNet.Running;
using KetamineCds.Benchmarks;

// Not part of the test run. Run: dotnet run -c Release --project tests/KetamineCds.Benchmarks
//   -- --job short --filter '*'   BenchmarkDotNet (mean, allocation per call)
//   -- jwt [BenchmarkDotNet args]  what a signed call costs: JwtBearer + our checks + replay store, against ES384 verify alone
//   -- jwt-cpu [blocks]           the same paths by process CPU time, interleaved (steadier on a loaded machine)
//   -- stages [N]                 a quick in-process breakdown of one order-sign by stage (N calls, default 2000)
//   -- clinical [N]               the clinical evaluation alone (CdsEvaluator.Evaluate): CPU and bytes per call (N, default 20000)
//   -- clinical-bdn [BDN args]    the same with BenchmarkDotNet
//   -- response [N]               the response side: render, write the answer (old and new writer), ledger, audit
//   -- feedback [N] [S]           the feedback store per call: ledger writes and the snooze step (N calls, default
//                                 20000; S = snooze look-up cache seconds, default 30, 0 = no cache)
if (args.Length > 0 && args[0] == "stages")
{
    StageTimer.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000);
    return;
}

if (args.Length > 0 && args[0] == "clinical")
{
    ClinicalInput.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000);
    return;
}

if (args.Length > 0 && args[0] == "clinical-bdn")
{
    BenchmarkRunner.Run<ClinicalBenchmarks>(args: args[1..]);
    return;
}

if (args.Length > 0 && args[0] == "response")
{
    ResponseStageTimer.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5000);
    return;
}

if (args.Length > 0 && args[0] == "jwt-cpu")
{
    JwtCpuTimer.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20);
    return;
}

if (args.Length > 0 && args[0] == "jwt")
{
    BenchmarkRunner.Run<JwtBenchmarks>(args: args[1..]);
    return;
}

if (args.Length > 0 && args[0] == "feedback")
{
    FeedbackStoreTimer.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 30);
    return;
}

BenchmarkRunner.Run<HookBenchmarks>(args: args);
