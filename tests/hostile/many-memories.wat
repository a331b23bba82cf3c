;; A tool component with two memories, for the host's tests: its one tool,
;; `hostile-memories`, grows its main memory and a second one (in another
;; core instance) by 40 MiB each. Each is under a 64 MiB cap; together they
;; are over it, and the call must be stopped. Rust cannot build a component
;; with several memories, so this one is written out: its wrapper is what
;; wit-component generates for the `tool-plugin` world around the core
;; module `$main`, which is ours.
(component
  (type $ty-openphone:mcp/types@0.1.0 (;0;)
    (instance
      (type (;0;) string)
      (export (;1;) "json" (type (eq 0)))
      (type (;2;) (record (field "read-only" bool) (field "destructive" bool) (field "idempotent" bool) (field "open-world" bool)))
      (export (;3;) "tool-annotations" (type (eq 2)))
      (type (;4;) (option 1))
      (type (;5;) (record (field "name" string) (field "title" string) (field "description" string) (field "input-schema" 1) (field "output-schema" 4) (field "annotations" 3) (field "scope" string) (field "resumable" bool)))
      (export (;6;) "tool-descriptor" (type (eq 5)))
      (type (;7;) (option string))
      (type (;8;) (record (field "request-id" string) (field "idempotency-key" 7)))
      (export (;9;) "call-context" (type (eq 8)))
      (type (;10;) (record (field "text" string) (field "structured" 4) (field "is-error" bool)))
      (export (;11;) "tool-output" (type (eq 10)))
      (type (;12;) (variant (case "invalid-request" string) (case "rate-limited") (case "timeout") (case "unavailable" string) (case "budget-exhausted")))
      (export (;13;) "upstream-error" (type (eq 12)))
      (type (;14;) (variant (case "unknown-tool" string) (case "invalid-arguments" string) (case "upstream" 13) (case "failed" string)))
      (export (;15;) "tool-error" (type (eq 14)))
    )
  )
  (import "openphone:mcp/types@0.1.0" (instance $openphone:mcp/types@0.1.0 (;0;) (type $ty-openphone:mcp/types@0.1.0)))
  (core module $main (;0;)
    (type (;0;) (func (param i32 i32 i32 i32) (result i32)))
    (type (;1;) (func (result i32)))
    (type (;2;) (func (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
    (type (;3;) (func (param i32) (result i32)))
    (import "extra" "grow" (func $extra_grow (type 3)))
    (memory (;0;) 1)
    (global $heap (;0;) (mut i32) i32.const 8192)
    (export "memory" (memory 0))
    (export "cabi_realloc" (func 1))
    (export "openphone:mcp/tool@0.1.0#list" (func 2))
    (export "openphone:mcp/tool@0.1.0#call" (func 3))
    (func (;0;) (type 0) (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      global.get $heap
      i32.const 7
      i32.add
      i32.const -8
      i32.and
      local.set $p
      local.get $p
      local.get 3
      i32.add
      global.set $heap
      local.get $p
    )
    (func (;1;) (type 1) (result i32)
      i32.const 1024
    )
    (func (;2;) (type 2) (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
      i32.const 640
      memory.grow
      i32.const -1
      i32.eq
      if ;; label = @1
        unreachable
      end
      i32.const 640
      call $extra_grow
      i32.const -1
      i32.eq
      if ;; label = @1
        unreachable
      end
      i32.const 2048
    )

    (data (i32.const 1024) "\4c\04\00\00\01\00\00\00")
    (data (i32.const 1100) "\b8\0b\00\00\10\00\00\00\b8\0b\00\00\10\00\00\00\c8\0b\00\00\5b\00\00\00\23\0c\00\00\11\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\01\00\01\00\34\0c\00\00\0d\00\00\00\00\00\00\00")
    (data (i32.const 2048) "\00\00\00\00\41\0c\00\00\11\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
    (data (i32.const 3000) "\68\6f\73\74\69\6c\65\2d\6d\65\6d\6f\72\69\65\73\47\72\6f\77\73\20\69\74\73\20\6d\61\69\6e\20\6d\65\6d\6f\72\79\20\61\6e\64\20\61\20\73\65\63\6f\6e\64\20\6f\6e\65\20\62\79\20\34\30\20\4d\69\42\20\65\61\63\68\3a\20\74\6f\67\65\74\68\65\72\20\6f\76\65\72\20\74\68\65\20\63\61\6c\6c\27\73\20\6d\65\6d\6f\72\79\20\63\61\70\2e\7b\22\74\79\70\65\22\3a\22\6f\62\6a\65\63\74\22\7d\6d\65\73\73\61\67\65\73\3a\72\65\61\64\67\72\65\77\20\74\77\6f\20\6d\65\6d\6f\72\69\65\73")
  )
  (alias export $openphone:mcp/types@0.1.0 "json" (type $json (;1;)))
  (alias export $openphone:mcp/types@0.1.0 "tool-descriptor" (type $tool-descriptor (;2;)))
  (alias export $openphone:mcp/types@0.1.0 "call-context" (type $call-context (;3;)))
  (alias export $openphone:mcp/types@0.1.0 "tool-output" (type $tool-output (;4;)))
  (alias export $openphone:mcp/types@0.1.0 "tool-error" (type $tool-error (;5;)))
  (core module $extra
    (memory 1)
    (func (export "grow") (param i32) (result i32)
      local.get 0
      memory.grow)
  )
  (core instance $extra (instantiate $extra))
  (core instance $main (instantiate $main (with "extra" (instance $extra))))
  (alias core export $main "memory" (core memory $memory (;0;)))
  (type (;6;) (list $tool-descriptor))
  (type (;7;) (func (result 6)))
  (alias core export $main "openphone:mcp/tool@0.1.0#list" (core func $openphone:mcp/tool@0.1.0#list (;0;)))
  (func $list (;0;) (type 7) (canon lift (core func $openphone:mcp/tool@0.1.0#list) (memory $memory) string-encoding=utf8))
  (type (;8;) (result $tool-output (error $tool-error)))
  (type (;9;) (func (param "name" string) (param "arguments" $json) (param "context" $call-context) (result 8)))
  (alias core export $main "openphone:mcp/tool@0.1.0#call" (core func $openphone:mcp/tool@0.1.0#call (;1;)))
  (alias core export $main "cabi_realloc" (core func $cabi_realloc (;2;)))
  (func $call (;1;) (type 9) (canon lift (core func $openphone:mcp/tool@0.1.0#call) (memory $memory) (realloc $cabi_realloc) string-encoding=utf8))
  (alias export $openphone:mcp/types@0.1.0 "tool-annotations" (type $tool-annotations (;10;)))
  (alias export $openphone:mcp/types@0.1.0 "upstream-error" (type $upstream-error (;11;)))
  (component $openphone:mcp/tool@0.1.0-shim-component (;0;)
    (type (;0;) string)
    (import "import-type-json" (type (;1;) (eq 0)))
    (type (;2;) (record (field "read-only" bool) (field "destructive" bool) (field "idempotent" bool) (field "open-world" bool)))
    (import "import-type-tool-annotations" (type (;3;) (eq 2)))
    (type (;4;) (option 1))
    (type (;5;) (record (field "name" string) (field "title" string) (field "description" string) (field "input-schema" 1) (field "output-schema" 4) (field "annotations" 3) (field "scope" string) (field "resumable" bool)))
    (import "import-type-tool-descriptor" (type (;6;) (eq 5)))
    (type (;7;) (option string))
    (type (;8;) (record (field "request-id" string) (field "idempotency-key" 7)))
    (import "import-type-call-context" (type (;9;) (eq 8)))
    (type (;10;) (record (field "text" string) (field "structured" 4) (field "is-error" bool)))
    (import "import-type-tool-output" (type (;11;) (eq 10)))
    (type (;12;) (variant (case "invalid-request" string) (case "rate-limited") (case "timeout") (case "unavailable" string) (case "budget-exhausted")))
    (import "import-type-upstream-error" (type (;13;) (eq 12)))
    (type (;14;) (variant (case "unknown-tool" string) (case "invalid-arguments" string) (case "upstream" 13) (case "failed" string)))
    (import "import-type-tool-error" (type (;15;) (eq 14)))
    (import "import-type-tool-descriptor0" (type (;16;) (eq 6)))
    (type (;17;) (list 16))
    (type (;18;) (func (result 17)))
    (import "import-func-list" (func (;0;) (type 18)))
    (import "import-type-json0" (type (;19;) (eq 1)))
    (import "import-type-call-context0" (type (;20;) (eq 9)))
    (import "import-type-tool-output0" (type (;21;) (eq 11)))
    (import "import-type-tool-error0" (type (;22;) (eq 15)))
    (type (;23;) (result 21 (error 22)))
    (type (;24;) (func (param "name" string) (param "arguments" 19) (param "context" 20) (result 23)))
    (import "import-func-call" (func (;1;) (type 24)))
    (export (;25;) "json" (type 1))
    (export (;26;) "tool-descriptor" (type 6))
    (export (;27;) "call-context" (type 9))
    (export (;28;) "tool-output" (type 11))
    (export (;29;) "tool-error" (type 15))
    (type (;30;) (list 26))
    (type (;31;) (func (result 30)))
    (export (;2;) "list" (func 0) (func (type 31)))
    (type (;32;) (result 28 (error 29)))
    (type (;33;) (func (param "name" string) (param "arguments" 25) (param "context" 27) (result 32)))
    (export (;3;) "call" (func 1) (func (type 33)))
  )
  (instance $openphone:mcp/tool@0.1.0-shim-instance (;1;) (instantiate $openphone:mcp/tool@0.1.0-shim-component
      (with "import-func-list" (func $list))
      (with "import-func-call" (func $call))
      (with "import-type-json" (type $json))
      (with "import-type-tool-annotations" (type $tool-annotations))
      (with "import-type-tool-descriptor" (type $tool-descriptor))
      (with "import-type-call-context" (type $call-context))
      (with "import-type-tool-output" (type $tool-output))
      (with "import-type-upstream-error" (type $upstream-error))
      (with "import-type-tool-error" (type $tool-error))
      (with "import-type-tool-descriptor0" (type $tool-descriptor))
      (with "import-type-json0" (type $json))
      (with "import-type-call-context0" (type $call-context))
      (with "import-type-tool-output0" (type $tool-output))
      (with "import-type-tool-error0" (type $tool-error))
    )
  )
  (export $openphone:mcp/tool@0.1.0 (;2;) "openphone:mcp/tool@0.1.0" (instance $openphone:mcp/tool@0.1.0-shim-instance))

)

