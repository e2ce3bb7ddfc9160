using BenchmarkDotNet.Running;
using KetamineCds.Benchmarks;

// Not part of the test run. Run: dotnet run -c Release --project tests/KetamineCds.Benchmarks
BenchmarkRunner.Run<HookBenchmarks>(args: args);
