using Xunit.Abstractions;
using Xunit.Sdk;

namespace KetamineCds.Storage.Tests;

/// <summary>
/// A store contract test. Runs against every backend; the PostgreSQL run is reported as skipped (visibly, with the
/// reason) only when KETAMINECDS_SKIP_POSTGRES=1 is set. Otherwise a PostgreSQL that cannot start fails the tests.
/// </summary>
[XunitTestCaseDiscoverer("KetamineCds.Storage.Tests.ContractFactDiscoverer", "KetamineCds.Storage.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class ContractFactAttribute : FactAttribute;

public sealed class ContractFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        if (PostgresServer.Skipped && testMethod.TestClass.Class.Name.Contains("Postgres", StringComparison.Ordinal))
        {
            return [new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(),
                testMethod, $"{PostgresServer.SkipVariable}=1: PostgreSQL skipped on purpose")];
        }

        return base.Discover(discoveryOptions, testMethod, factAttribute);
    }
}
