<?php declare(strict_types=1);

/**
 * Runs calls of MALL's official PHP client one by one and records, per call, the exception it
 * threw and every PHP warning, notice or deprecation raised while it ran (and while every getter
 * of what it returned was read). One JSON line per call on stdout.
 */
final class Harness
{
    /** @var list<array<string, mixed>> */
    private array $results = [];
    /** @var list<string> */
    private array $warnings = [];
    /** @var list<string> */
    private array $touchErrors = [];
    private string $clientDir;

    public function __construct(string $clientDir)
    {
        $this->clientDir = rtrim((string) realpath($clientDir), '/') . '/';
        set_error_handler(function (int $level, string $message, string $file = '', int $line = 0): bool {
            $this->warnings[] = sprintf('%s: %s at %s:%d', self::levelName($level), $message, $this->shortPath($file), $line);
            return true;
        });
    }

    /** Loads every class of the client, so compile-time deprecations are reported once, apart. */
    public function preload(string $namespace): void
    {
        $this->warnings = [];
        $src = $this->clientDir . 'src/';
        $files = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($src, FilesystemIterator::SKIP_DOTS));
        $errors = [];
        foreach ($files as $file) {
            if (substr((string) $file, -4) !== '.php') {
                continue;
            }
            $class = $namespace . str_replace('/', '\\', substr((string) $file, strlen($src), -4));
            try {
                class_exists($class) || interface_exists($class) || trait_exists($class);
            } catch (Throwable $e) {
                $errors[] = $class . ': ' . $e->getMessage();
            }
        }
        // Deprecations of the client's own declarations under PHP 8 (e.g. Iterator return types)
        // are the client's, not the sandbox's: listed, not failed.
        $this->emit(['call' => 'load client classes', 'ok' => $errors === [], 'error' => $errors[0] ?? null,
            'warnings' => [], 'client_notes' => $this->warnings]);
        $this->warnings = [];
    }

    /**
     * Runs a call that must succeed; reads every getter of its result; `$check` (optional) returns
     * a list of problems with the answer (semantics). Returns the call's result, or null.
     *
     * @return mixed
     */
    public function call(string $name, callable $call, ?callable $check = null)
    {
        $this->warnings = [];
        $this->touchErrors = [];
        $result = null;
        $error = null;
        $problems = [];
        try {
            $result = $call();
            $this->touch($result, $name, 0, new SplObjectStorage());
            if ($check !== null && $this->touchErrors === []) {
                $problems = $check($result);
            }
        } catch (Throwable $e) {
            $error = self::describe($e);
        }
        $errors = array_merge($error === null ? [] : [$error], $this->touchErrors, $problems);
        $this->record($name, $errors);
        return $error === null ? $result : null;
    }

    /**
     * Runs a call that must fail with an HTTP error `$status` (or any 4xx when null) whose message
     * contains each of `$mentions`.
     *
     * @param list<string> $mentions
     */
    public function expectError(string $name, callable $call, ?int $status, array $mentions = []): void
    {
        $this->warnings = [];
        $this->touchErrors = [];
        $errors = [];
        try {
            $call();
            $errors[] = sprintf('expected an HTTP %s error, the call succeeded', $status ?? '4xx');
        } catch (Throwable $e) {
            $code = self::httpStatus($e);
            $wrongStatus = $status === null ? ($code < 400 || $code >= 500) : $code !== $status;
            if ($wrongStatus) {
                $errors[] = sprintf('expected HTTP %s, got %s', $status ?? '4xx', self::describe($e));
            }
            foreach ($mentions as $word) {
                if (stripos(self::fullMessage($e), $word) === false) {
                    $errors[] = sprintf('error message does not name "%s": %s', $word, self::describe($e));
                }
            }
        }
        $this->record($name, $errors);
    }

    /** Prints the summary line; returns the process exit code. */
    public function finish(string $version): int
    {
        $failed = array_values(array_map(
            fn(array $r) => $r['call'],
            array_filter($this->results, fn(array $r) => !$r['ok'])
        ));
        $this->emit(['summary' => ['client' => $version, 'calls' => count($this->results),
            'ok' => count($this->results) - count($failed), 'failed' => count($failed), 'failed_calls' => $failed]]);
        return $failed === [] ? 0 : 1;
    }

    /** @param list<string> $errors */
    private function record(string $name, array $errors): void
    {
        $warnings = array_values(array_unique($this->warnings));
        $row = ['call' => $name, 'ok' => $errors === [] && $warnings === [], 'error' => $errors[0] ?? null, 'warnings' => $warnings];
        if (count($errors) > 1) {
            $row['errors'] = $errors;
        }
        $this->results[] = $row;
        $this->emit($row);
    }

    /** @param array<string, mixed> $row */
    private function emit(array $row): void
    {
        echo json_encode($row, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE), PHP_EOL;
    }

    /**
     * Reads everything the client would hand a merchant: jsonSerialize, every public get/is/has
     * getter without arguments, and iteration, recursively over the client's own objects.
     *
     * @param mixed $value
     */
    private function touch($value, string $path, int $depth, SplObjectStorage $seen): void
    {
        if ($depth > 8) {
            return;
        }
        if (is_array($value)) {
            foreach ($value as $key => $item) {
                $this->touch($item, $path . '[' . $key . ']', $depth + 1, $seen);
            }
            return;
        }
        if (!is_object($value) || $seen->contains($value) || !self::isClientObject($value)) {
            return;
        }
        $seen->attach($value);
        if ($value instanceof JsonSerializable) {
            $this->read($path . '->jsonSerialize()', fn() => $value->jsonSerialize(), $depth, $seen);
        }
        if ($value instanceof Traversable) {
            $this->read($path . '->foreach', function () use ($value): array {
                $items = [];
                foreach ($value as $key => $item) {
                    $items[$key] = $item;
                    if (count($items) >= 100) {
                        break;
                    }
                }
                return $items;
            }, $depth, $seen);
        }
        foreach ((new ReflectionObject($value))->getMethods(ReflectionMethod::IS_PUBLIC) as $method) {
            if ($method->isStatic() || $method->getNumberOfRequiredParameters() > 0
                || !preg_match('/^(get|is|has)[A-Z]/', $method->getName())) {
                continue;
            }
            $this->read($path . '->' . $method->getName() . '()', fn() => $method->invoke($value), $depth, $seen);
        }
    }

    private function read(string $path, callable $getter, int $depth, SplObjectStorage $seen): void
    {
        try {
            $this->touch($getter(), $path, $depth + 1, $seen);
        } catch (Throwable $e) {
            $this->touchErrors[] = $path . ': ' . self::describe($e);
        }
    }

    private static function isClientObject(object $value): bool
    {
        $class = get_class($value);
        return strncmp($class, 'MpApiClient\\', 12) === 0 || strncmp($class, 'MPAPI\\', 6) === 0;
    }

    public static function httpStatus(Throwable $e): int
    {
        for ($cause = $e; $cause !== null; $cause = $cause->getPrevious()) {
            if (method_exists($cause, 'getResponse') && $cause->getResponse() !== null) {
                return $cause->getResponse()->getStatusCode();
            }
        }
        return (int) $e->getCode();
    }

    private static function fullMessage(Throwable $e): string
    {
        $text = $e->getMessage();
        for ($cause = $e; $cause !== null; $cause = $cause->getPrevious()) {
            if (method_exists($cause, 'getResponse') && $cause->getResponse() !== null) {
                $body = $cause->getResponse()->getBody();
                if ($body->isSeekable()) {
                    $body->rewind();
                }
                $text .= ' ' . $body->getContents();
            }
        }
        return $text;
    }

    public static function describe(Throwable $e): string
    {
        $where = '';
        if ($e instanceof Error) {
            $where = sprintf(' at %s:%d', basename($e->getFile()), $e->getLine());
        }
        $status = self::httpStatus($e);
        $message = preg_replace('/\s+/', ' ', $e->getMessage());
        $answer = self::answerMessage($e);
        if ($answer !== null && $answer !== $message) {
            $message = preg_replace('/ response: .*/', ' response', $message) . ' -- MALL says: ' . $answer;
        }
        return sprintf('%s%s: %s%s', get_class($e), $status ? " (HTTP $status)" : '', $message, $where);
    }

    /** The `result.message` of the HTTP answer behind an exception, if any. */
    private static function answerMessage(Throwable $e): ?string
    {
        for ($cause = $e; $cause !== null; $cause = $cause->getPrevious()) {
            if (method_exists($cause, 'getResponse') && $cause->getResponse() !== null) {
                $body = $cause->getResponse()->getBody();
                if ($body->isSeekable()) {
                    $body->rewind();
                }
                $json = json_decode($body->getContents(), true);
                return is_string($json['result']['message'] ?? null) ? $json['result']['message'] : null;
            }
        }
        return null;
    }

    private function shortPath(string $file): string
    {
        return strncmp($file, $this->clientDir, strlen($this->clientDir)) === 0 ? substr($file, strlen($this->clientDir)) : basename($file);
    }

    private static function levelName(int $level): string
    {
        $names = [E_WARNING => 'Warning', E_NOTICE => 'Notice', E_DEPRECATED => 'Deprecated',
            E_USER_WARNING => 'User warning', E_USER_NOTICE => 'User notice', E_USER_DEPRECATED => 'User deprecated'];
        return $names[$level] ?? 'PHP error ' . $level;
    }
}
