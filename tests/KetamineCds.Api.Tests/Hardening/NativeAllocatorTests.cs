using KetamineCds.Api.Tests.MultiInstance;

namespace KetamineCds.Api.Tests.Hardening;

/// <summary>
/// The slow resident-memory rise of long soaks sits in glibc's malloc arenas (ADR-18). The service caps them at start-up;
/// the effect is measured with the load harness (docs/reliability.md), and this pins that the cap is applied in the real
/// process, and that an operator's own MALLOC_ARENA_MAX wins.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class NativeAllocatorTests
{
    [Fact]
    public async Task The_service_caps_glibc_malloc_arenas_at_two_at_start_up()
    {
        await using var service = await ServiceProcess.StartAsync(new Dictionary<string, string>(), aspnetEnvironment: "Testing");

        Assert.Contains(service.Output, line => line.Contains("glibc malloc arenas outcome=capped max=2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MALLOC_ARENA_MAX_in_the_environment_is_left_to_glibc()
    {
        await using var service = await ServiceProcess.StartAsync(new Dictionary<string, string> { ["MALLOC_ARENA_MAX"] = "4" }, aspnetEnvironment: "Testing");

        Assert.Contains(service.Output, line => line.Contains("glibc malloc arenas outcome=environment", StringComparison.Ordinal));
    }
}
