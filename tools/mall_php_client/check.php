<?php declare(strict_types=1);

/**
 * Drives every order call of MALL's official PHP client (mallgroup/mpapi-client-php, v5.x or
 * v3.x, unchanged: only its base URL is set) against a MALL API, normally `orderhub sandbox mall`.
 *
 *   php check.php --client DIR --base-url http://127.0.0.1:8101 [--client-id sandbox] [--out DIR]
 *
 * Prints one JSON line per call {"call", "ok", "error", "warnings"} and a summary line; exits 0
 * only when every call is ok (no exception, no PHP warning/notice/deprecation, expected answer).
 */

error_reporting(E_ALL);
ini_set('display_errors', 'stderr');

$options = getopt('', ['client:', 'base-url:', 'client-id:', 'out:']);
if (!isset($options['client'], $options['base-url'])) {
    fwrite(STDERR, "usage: php check.php --client DIR --base-url URL [--client-id ID] [--out DIR]\n");
    exit(2);
}
$clientDir = rtrim((string) $options['client'], '/');
$baseUrl = rtrim((string) $options['base-url'], '/');
$clientId = (string) ($options['client-id'] ?? 'sandbox');
$outDir = (string) ($options['out'] ?? sys_get_temp_dir());

if (is_file("$clientDir/src/MpApiClient.php")) {
    [$version, $namespace] = ['v5', 'MpApiClient\\'];
} elseif (is_file("$clientDir/src/Services/Orders.php")) {
    [$version, $namespace] = ['v3', 'MPAPI\\'];
} else {
    fwrite(STDERR, "--client: expected a checkout of mallgroup/mpapi-client-php (src/MpApiClient.php or src/Services/Orders.php) in $clientDir\n");
    exit(2);
}

// Composer's PSR-4 rule of the client, and Debian's Guzzle 7 / PSR packages under /usr/share/php.
spl_autoload_register(function (string $class) use ($clientDir, $namespace): void {
    if (strncmp($class, $namespace, strlen($namespace)) === 0) {
        $file = $clientDir . '/src/' . str_replace('\\', '/', substr($class, strlen($namespace))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
set_include_path(get_include_path() . PATH_SEPARATOR . '/usr/share/php');
require_once 'GuzzleHttp/autoload.php';
require_once 'Psr/Log/autoload.php';

require __DIR__ . '/harness.php';
require __DIR__ . '/raw.php';
require __DIR__ . "/scenario_$version.php";

$harness = new Harness($clientDir);
$harness->preload($namespace);
$scenario = "run_$version";
$scenario($harness, $baseUrl, $clientId, $outDir);
exit($harness->finish($version));
